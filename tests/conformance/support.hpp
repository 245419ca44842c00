#pragma once
// Helpers of the conformance cases: filesystem appliers (the same change applied to a snapshot
// through a real mount and to a plain "flat" directory), real mounts that always come down, tree
// comparison, and assertion helpers for Result codes.

#include <strata/plugin/error.hpp>
#include <strata/plugin/mount.hpp>

#include "mounts.hpp"
#include "scratch_dir.hpp"
#include "status_assert.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace strata::conformance {

using strata::testing::has_code;
using strata::testing::is_ok;

// Macros so that failures point at the caller's line; all accept "<< message".
#define CONF_ASSERT_OK(expr) ASSERT_TRUE(::strata::conformance::is_ok(expr))
#define CONF_EXPECT_OK(expr) EXPECT_TRUE(::strata::conformance::is_ok(expr))
#define CONF_EXPECT_CODE(expr, want) EXPECT_TRUE(::strata::conformance::has_code((expr), want))

/// One change to a directory tree rooted at the argument; paths are relative to it.
using Applier = std::function<Status(const std::string& root)>;

/// Creates or truncates a regular file with `content`, then sets `mode` exactly.
Applier create_file(const std::string& path, const std::string& content, mode_t mode);
/// mkdir -p with `mode` (exactly, for every directory it creates); existing directories are kept.
Applier create_dir(const std::string& path, mode_t mode);
/// rm -rf; a missing path is no error.
Applier remove_all(const std::string& path);
/// lchown.
Applier chown(const std::string& path, uid_t uid, gid_t gid);
/// chmod.
Applier chmod(const std::string& path, mode_t mode);
/// A hard link `path` to `target`.
Applier link(const std::string& target, const std::string& path);
/// A symlink `path` pointing at `target`.
Applier symlink(const std::string& target, const std::string& path);
/// rename(2). When the file system answers EXDEV (overlay without redirect_dir renaming a
/// directory of a lower layer), falls back to copy and remove, as mv(1) does: POSIX allows the
/// refusal, and the resulting tree is what the case compares.
Applier rename(const std::string& from, const std::string& to);
/// Every applier in order; the first error stops.
Applier apply(std::vector<Applier> appliers);

/// Mounts `mounts` (minus overlay's "volatile", as mount::TempMount does) on `target` (created)
/// with lib/mount; unmounts in release() or the destructor, so a failing assertion never leaves a
/// mount behind.
class Mounted {
public:
  Mounted(const std::vector<Mount>& mounts, const std::string& target);
  ~Mounted();
  Mounted(const Mounted&) = delete;
  Mounted& operator=(const Mounted&) = delete;
  bool ok() const { return error_.empty(); }
  /// Why the mount failed; empty when it worked.
  const std::string& error() const { return error_; }
  const std::string& path() const { return target_; }
  /// Unmounts now (idempotent); an unmount failure is a test failure.
  void release();

private:
  std::vector<Mount> mounts_;
  std::string target_;
  std::string error_;
  bool mounted_ = false;
};

using strata::testing::unmount_below;

/// A fresh directory under scratch_parent(); everything mounted below it is unmounted and the
/// directory removed on destruction.
class Scratch {
public:
  Scratch();
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  /// Empty when the directory could not be created (error() says why).
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

private:
  std::string path_;
  std::string error_;
};

/// Success when the trees at `want` and `got` hold the same entries with the same types, modes,
/// owners, contents, symlink targets, device numbers and hard-link groups (mtimes and xattrs are
/// not compared: a snapshotter may add private xattrs, and copy-up moves directory times), the
/// roots included; otherwise a failure listing the differing lines.
::testing::AssertionResult trees_equal(const std::string& want, const std::string& got);

using strata::testing::read_file;
/// True when `path` exists (lstat).
bool exists(const std::string& path);

} // namespace strata::conformance
