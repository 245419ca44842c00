#pragma once
// Internal to lib/mount: error formatting and small system-call helpers shared by the Linux
// sources. Not installed, not part of the API.

#include "strata/mount/idmap.hpp"
#include "strata/mount/options.hpp"
#include "strata/mount/overlay.hpp"

#include <strata/fs/posix.hpp>
#include <strata/plugin/error.hpp>

#include <string>
#include <string_view>

namespace strata::mount::detail {

/// "EINVAL" for EINVAL; "errno N" when glibc has no name.
std::string errno_name(int err);

/// `s` cut to at most `max` bytes, with a note of how much was left out.
std::string shorten(std::string_view s, std::size_t max = 400);

/// An errno error for a mount operation: "<what>: <strerror> (<ENAME>)" plus "; <hint>" when a
/// hint is given. The code follows fs::sys_error.
Error mount_error(std::string_view what, int err, std::string_view hint = {});

/// `cannot mount <type> "<source>" on "<target>" with options "<opts>"`, for messages.
std::string describe_mount(std::string_view type, std::string_view source, std::string_view target,
                           std::string_view options);

/// The MOUNT_ATTR_* bits for the per-mount MS_* bits in `ms_flags`.
unsigned long long mount_attr_set(unsigned long ms_flags);
/// The MOUNT_ATTR_* bits to clear so that mount_attr_set(ms_flags) takes effect (the atime mode
/// is a field, not a bit).
unsigned long long mount_attr_clear(unsigned long ms_flags);

/// MS_* bits that describe one mount (not its superblock).
unsigned long per_mount_flags(unsigned long ms_flags);

/// Applies propagation flags (MS_SHARED, ..., with MS_REC) to the mount at `path`.
Status set_propagation(const std::string& path, const std::string& display,
                       unsigned long propagation);

/// A new directory with mode 0700 named <parent>/<prefix>XXXXXX (random suffix).
Result<std::string> make_temp_dir(const std::string& parent, std::string_view prefix);

/// Overlay with already-parsed options on `path` (`display` names it in messages).
Status mount_overlay_parsed(const Mount& m, const ParsedOptions& p, const std::string& path,
                            const std::string& display, OverlayMethod method);

/// mount_setattr(MOUNT_ATTR_IDMAP and `attrs`) on the detached tree `tree_fd` (from open_tree
/// with OPEN_TREE_CLONE); `source` and `display` name it in messages.
Status idmap_tree(int tree_fd, int userns_fd, const BindAttributes& attrs, std::string_view source,
                  std::string_view display);

/// move_mount of the detached tree `tree_fd` onto `path`.
Status attach_tree(int tree_fd, const std::string& path, std::string_view display);

} // namespace strata::mount::detail
