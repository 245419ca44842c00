#pragma once
// Filesystem image files for tests that mount through loop devices: a sparse file formatted by
// the real mkfs.<type>.

#include <strata/plugin/error.hpp>

#include <cstdint>
#include <string>

namespace strata::testing {

/// The size of a small ext4 test image: 16 MiB. containerd's blockfile tests use 8 MiB and
/// 16 MiB when the page size is over 4 KiB; 16 MiB works for every page size.
inline constexpr std::int64_t kSmallExt4Image = 16 << 20;

/// The smallest image mkfs.xfs accepts (300 MiB); sparse, so it costs only what mkfs writes.
inline constexpr std::int64_t kSmallXfsImage = 300 << 20;

/// mkfs.<type> from /usr/sbin or /sbin (never $PATH); "" when neither has it.
std::string find_mkfs(const std::string& type);

/// Creates `path` as a sparse file of `size` bytes and formats it with mkfs.<type> (quiet,
/// forced: "-q -F" for ext*, "-q -f" for xfs and btrfs).
/// Errors: NotFound when there is no mkfs.<type> (the message says which, for a skip reason);
/// Internal when creating the file fails or mkfs fails (its output in the message).
Status make_fs_image(const std::string& path, const std::string& type, std::int64_t size);

} // namespace strata::testing
