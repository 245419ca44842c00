#pragma once
// Test support for the overlay snapshotter: a scratch root on a real filesystem that takes down
// every mount below it, real mounts of snapshot mounts, and a minimal InitContext.

#include "config.hpp"
#include "probe.hpp"
#include "snapshotter.hpp"

#include "fake_init_context.hpp"
#include "mounts.hpp"
#include "scratch_dir.hpp"
#include "status_assert.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace strata::overlay::test {

using strata::testing::has_code;
using strata::testing::is_ok;

// Macros so that failures point at the caller's line; all accept "<< message".
#define ASSERT_OK(expr) ASSERT_TRUE(::strata::testing::is_ok(expr))
#define EXPECT_OK(expr) EXPECT_TRUE(::strata::testing::is_ok(expr))
#define EXPECT_CODE(expr, want) EXPECT_TRUE(::strata::testing::has_code((expr), want))

/// A directory under /var/tmp (a real filesystem here, unlike a tmpfs /tmp on some hosts);
/// unmounts everything below it (deepest first) and removes it on destruction.
class Scratch : public strata::testing::Scratch {
public:
  Scratch() : strata::testing::Scratch("strata-overlay-test-") {}
};

using strata::testing::unmount_below;

/// The probe result for `dir`, computed once per process.
const ProbeResult& probed(const std::string& dir);

/// Mounts `mounts` on a new directory `name` under the scratch dir; unmounts on destruction.
class Mounted {
public:
  Mounted(const std::vector<Mount>& mounts, const std::string& target);
  ~Mounted();
  Mounted(const Mounted&) = delete;
  Mounted& operator=(const Mounted&) = delete;
  /// Empty when the mount failed.
  const std::string& error() const { return error_; }
  bool ok() const { return error_.empty(); }
  const std::string& path() const { return target_; }
  /// Unmounts now (idempotent).
  void release();

private:
  std::vector<Mount> mounts_;
  std::string target_;
  std::string error_;
  bool mounted_ = false;
};

using strata::testing::read_file;
/// Writes `content` to `path` (parents created); false on failure.
bool write_file(const std::string& path, const std::string& content);
/// True when `path` exists (lstat).
bool exists(const std::string& path);
/// Entry names of a directory, sorted.
std::vector<std::string> list(const std::string& dir);

/// An InitContext for the overlay plugin with a given root and config; no dependencies.
class FakeContext : public strata::testing::FakeInitContext {
public:
  FakeContext(std::string root, json::object config)
      : FakeInitContext("strata.snapshotter.v1.overlayfs", root, root + ".state",
                        std::move(config)) {}
};

} // namespace strata::overlay::test
