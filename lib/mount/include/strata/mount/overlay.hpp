#pragma once
/// \file
/// Overlay specifics: the escaping of layer paths in "lowerdir=", the two ways of handing a
/// (possibly very long) layer list to the kernel, and feature probes that mount for real.

#include <strata/plugin/error.hpp>
#include <strata/plugin/mount.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::mount {

/// A layer path escaped for "lowerdir=", "upperdir=" and "workdir=": '\\', ':' and ',' get a
/// backslash, as overlay's option parser expects.
std::string escape_overlay_path(std::string_view path);

/// The path of an "upperdir=" or "workdir=" value, unescaped (the inverse of
/// escape_overlay_path). Errors: InvalidArgument for an empty value, a lone trailing backslash or
/// an unescaped ':' (naming the value).
Result<std::string> unescape_overlay_path(std::string_view value);

/// The layers of a "lowerdir=" value, top first, unescaped. `data_layers` receives the layers
/// after a "::" separator (overlay data-only layers); pass nullptr to keep them in the result.
/// Errors: InvalidArgument for an empty value or an empty layer (naming the value).
Result<std::vector<std::string>> split_lowerdirs(std::string_view value,
                                                 std::vector<std::string>* data_layers = nullptr);

/// The mount point of an overlay mounted in this mount namespace whose upperdir or workdir is
/// the directory `dir` (compared by device and inode), from /proc/self/mountinfo; nothing when
/// there is none or `dir` does not exist. Mounts in other mount namespaces are not seen.
std::optional<std::string> overlay_using_dir(const std::string& dir);

/// How mount_overlay hands the options to the kernel.
enum class OverlayMethod {
  /// Fsconfig when the kernel has overlay's "lowerdir+" parameter and every path fits in a
  /// parameter (255 bytes), otherwise MountData.
  Auto,
  /// fsopen/fsconfig("lowerdir+" per layer)/fsmount/move_mount: no limit on the layer count
  /// beyond overlay's own (500). Errors: NotImplemented when "lowerdir+" is unsupported.
  Fsconfig,
  /// mount(2) with the joined option string, which the kernel caps at one page.
  /// Errors: InvalidArgument when the string does not fit, with the size and the fix.
  MountData,
};

/// Mounts overlay `m` (type "overlay") on the directory `target` (m.target is ignored here; use
/// mount_one for sub-paths). Flags ("ro", "nosuid", ...) and propagation apply as in mount_one.
/// With both "uidmap=" and "gidmap=", every lowerdir is seen through one read-only idmapped bind
/// of their common parent directory (upperdir and workdir are used as they are; the caller owns
/// their ownership), made on a temporary directory under /tmp and detached once overlay holds
/// its layers.
/// Errors: FailedPrecondition when the upperdir or workdir is already used by a mounted overlay
/// (naming its mount point: with index=off the kernel would allow it, and the new mount's
/// workdir cleanup breaks writes through the old one); InvalidArgument (no lowerdir, options too
/// long for MountData, kernel rejected the options — the message carries overlay's own
/// explanation when the kernel gives one),
/// NotImplemented (feature missing), PermissionDenied, NotFound (a layer is missing).
Status mount_overlay(const Mount& m, const std::string& target,
                     OverlayMethod method = OverlayMethod::Auto);

/// True when the kernel knows the overlay filesystem (fsopen succeeds, or /proc/filesystems
/// lists it).
bool overlay_supported();

/// True when overlay accepts the "lowerdir+" parameter through fsconfig (Linux 6.8+). Probed
/// once per process.
bool overlay_lowerdir_append_supported();

/// Probes whether an overlay with "userxattr" can be mounted on the filesystem holding `dir`,
/// by mounting one in a temporary directory created (and removed) under `dir`.
/// Errors: only when the probe directory cannot be created or removed (by errno).
Result<bool> overlay_userxattr_supported(const std::string& dir);

/// True when overlay on the filesystem holding `dir` must use "userxattr": we run in a user
/// namespace other than the initial one (trusted.* xattrs are out of reach) and the probe above
/// succeeds. Errors: as overlay_userxattr_supported.
Result<bool> overlay_needs_userxattr(const std::string& dir);

/// True when an overlay whose lowerdirs are idmapped mounts works on the filesystem holding
/// `dir`: mounts one under a temporary directory in `dir` with uidmap/gidmap "0:666:1" and checks
/// that a root-owned file shows as 666:666 through it. Any failure means false.
bool idmapped_overlay_supported(const std::string& dir);

} // namespace strata::mount
