#pragma once
// A scratch directory for mount tests that takes down whatever was mounted below it, even when
// a test fails halfway.
#include "mounts.hpp"

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

class Scratch {
public:
  Scratch();
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::string& path() const { return path_; }
  /// path()/rel, created as a directory (with parents).
  std::string dir(const std::string& rel, mode_t mode = 0755) const;
  /// Writes `content` to path()/rel (parents created) and returns the full path.
  std::string file(const std::string& rel, const std::string& content) const;

private:
  std::string path_;
};

/// errno of creating a file at `path` (0 on success; the file is then removed).
int create_errno(const std::string& path);
/// Reads a whole file; "" when it cannot be read.
std::string read_file(const std::string& path);
using strata::testing::is_mount_point;
using strata::testing::unmount_below;
/// Number of entries in /proc/self/fd.
int count_fds();

} // namespace strata::mount::testing
