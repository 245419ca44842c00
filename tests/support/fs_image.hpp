#pragma once
// Filesystem image files for tests that mount through loop devices: a sparse file formatted by
// the real mkfs.<type>, and the skip checks such tests share (their macros need gtest.h).

#include <strata/plugin/error.hpp>

#include <cstdint>
#include <string>
#include <unistd.h>
#include <vector>

namespace strata::testing {

/// The size of a small ext4 test image: 16 MiB. containerd's blockfile tests use 8 MiB and
/// 16 MiB when the page size is over 4 KiB; 16 MiB works for every page size.
inline constexpr std::int64_t kSmallExt4Image = 16 << 20;

/// The smallest image mkfs.xfs accepts (300 MiB); sparse, so it costs only what mkfs writes.
inline constexpr std::int64_t kSmallXfsImage = 300 << 20;

/// Skips the current (GoogleTest) test unless it runs as root and the loop driver is there.
#define STRATA_REQUIRE_LOOP_DEVICES()                                                              \
  do {                                                                                             \
    if (::geteuid() != 0)                                                                          \
      GTEST_SKIP() << "needs root for loop devices and mounts";                                    \
    if (::access("/dev/loop-control", F_OK) != 0)                                                  \
      GTEST_SKIP() << "no /dev/loop-control: the loop driver is not loaded (modprobe loop)";       \
  } while (0)

/// make_fs_image(path, type, size) in a (GoogleTest) test: skips it when there is no
/// mkfs.<type> (setup installs e2fsprogs and xfsprogs, so CI runs it), fails it on any other
/// error.
#define STRATA_MAKE_FS_IMAGE(path, type, size)                                                     \
  do {                                                                                             \
    if (::strata::Status made_ = ::strata::testing::make_fs_image(path, type, size); !made_) {     \
      if (made_.error().code() == ::strata::Code::NotFound)                                        \
        GTEST_SKIP() << made_.error().message();                                                   \
      FAIL() << made_.error().to_string();                                                         \
    }                                                                                              \
  } while (0)

/// mkfs.<type> from /usr/sbin or /sbin (never $PATH); "" when neither has it.
std::string find_mkfs(const std::string& type);

/// Creates `path` as a sparse file of `size` bytes and formats it with mkfs.<type> (quiet,
/// forced: "-q -F" for ext*, "-q -f" for xfs and btrfs), `mkfs_args` added before the path.
/// Errors: NotFound when there is no mkfs.<type> (the message says which, for a skip reason);
/// Internal when creating the file fails or mkfs fails (the command and its output in the
/// message).
Status make_fs_image(const std::string& path, const std::string& type, std::int64_t size,
                     const std::vector<std::string>& mkfs_args = {});

} // namespace strata::testing
