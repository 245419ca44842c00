#pragma once
// Test support for the blockfile snapshotter: a scratch directory on a real filesystem that
// takes down every mount below it, a fixture that fails on leaked loop devices, init through a
// fake context, and file helpers.

#include "init.hpp"
#include "mkfs.hpp"
#include "snapshotter.hpp"

#include "fake_init_context.hpp"
#include "mounts.hpp"
#include "scratch_dir.hpp"
#include "status_assert.hpp"

#include <strata/mount/temp.hpp>

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace strata::blockfile::test {

using strata::testing::is_ok;
using strata::testing::read_file;

// Macros so that failures point at the caller's line; all accept "<< message".
#define ASSERT_OK(expr) STRATA_ASSERT_OK(expr)
#define EXPECT_OK(expr) STRATA_EXPECT_OK(expr)

/// Loop devices whose backing file lies below `dir` (mount::attached_loops()).
std::set<std::string> loops_below(const std::string& dir);

/// Root-only fixture with a fresh strata::testing::Scratch directory under /var/tmp. At the end
/// it fails when a loop device backed by a file below the directory is still attached (the count
/// before and after must match), then the Scratch unmounts what is left and removes it.
class BlockfileTest : public ::testing::Test {
protected:
  void SetUp() override;
  void TearDown() override;

  /// The test's directory.
  const std::string& dir() const { return scratch_->path(); }
  /// dir()/name, created as a directory (with parents).
  std::string subdir(const std::string& name) const;

  /// The plugin's init on `root` with `config` (a TOML section as JSON) and `setup` (default:
  /// default_mkfs_dirs()); `meta` receives the meta init filled in.
  InitResult init(const std::string& root, const json::object& config,
                  const ScratchSetup& setup = {default_mkfs_dirs()}, Meta* meta = nullptr);
  /// init() that must give a snapshotter.
  std::shared_ptr<BlockfileSnapshotter> open(const std::string& root, const json::object& config);

private:
  std::unique_ptr<strata::testing::Scratch> scratch_;
  std::size_t loops_before_ = 0;
};

/// A 16 MiB ext4 config, as the conformance test uses.
json::object ext4_config();

/// `mounts` mounted on a new directory under `parent`, taken down by the destructor.
/// Errors: TempMount::create's.
Result<mount::TempMount> mounted(const std::vector<Mount>& mounts, const std::string& parent);

/// Prepares "<name>-active" on `parent`, writes `content` to `file` (a name in its root) through a
/// mount under `mount_dir`, unmounts and commits it as `name`.
/// Errors: the snapshotter's and the mount's; Internal when the write fails.
Status commit_with_file(BlockfileSnapshotter& s, const std::string& name, const std::string& parent,
                        const std::string& file, const std::string& content,
                        const std::string& mount_dir);

/// Writes `bytes` random bytes to `path` and fsyncs it; false on failure.
bool write_random(const std::string& path, std::size_t bytes);
/// Writes `content` to `path`; false on failure.
bool write_file(const std::string& path, const std::string& content);
/// Entry names of a directory, sorted, "." and ".." left out.
std::vector<std::string> list(const std::string& dir);
/// st_size of `path`, -1 when it cannot be stat'ed.
std::int64_t file_size(const std::string& path);

/// The image the mounts of `key` use (its own, or a view's parent's); "" on error.
std::string image_of(BlockfileSnapshotter& s, const std::string& key);

} // namespace strata::blockfile::test
