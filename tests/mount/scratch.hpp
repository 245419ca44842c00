#pragma once
// A scratch directory for mount tests that takes down whatever was mounted below it, even when
// a test fails halfway.
#include "mounts.hpp"
#include "scratch_dir.hpp"

#include <gtest/gtest.h>

#include <string>
#include <sys/types.h>

namespace strata::mount::testing {

/// Skips the current test unless we are root.
#define STRATA_REQUIRE_ROOT()                                                                      \
  do {                                                                                             \
    if (::geteuid() != 0)                                                                          \
      GTEST_SKIP() << "mount tests need root (real mounts, user namespaces)";                      \
  } while (0)

/// A directory under /tmp that unmounts everything below it and is removed on destruction.
class Scratch : public strata::testing::Scratch {
public:
  Scratch() : strata::testing::Scratch("strata-mount-test-", "/tmp") {}
};

/// errno of creating a file at `path` (0 on success; the file is then removed).
int create_errno(const std::string& path);
using strata::testing::is_mount_point;
using strata::testing::read_file;
using strata::testing::unmount_below;
/// Number of entries in /proc/self/fd.
int count_fds();

} // namespace strata::mount::testing
