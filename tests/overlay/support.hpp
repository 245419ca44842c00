#pragma once
// Test support for the overlay snapshotter: a scratch root on a real filesystem that takes down
// every mount below it, real mounts of snapshot mounts, and a minimal InitContext.

#include "config.hpp"
#include "probe.hpp"
#include "snapshotter.hpp"

#include "fake_init_context.hpp"
#include "mounts.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace strata::overlay::test {

/// Success, or a failure showing the error.
template <class R>::testing::AssertionResult is_ok(const R& r) {
  if (r.ok())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.error().to_string();
}

/// Failure with code `want`, or a failure saying what happened instead.
template <class R>::testing::AssertionResult has_code(const R& r, Code want) {
  if (r.ok())
    return ::testing::AssertionFailure() << "succeeded, want " << to_string(want);
  if (r.error().code() != want)
    return ::testing::AssertionFailure() << r.error().to_string() << ", want " << to_string(want);
  return ::testing::AssertionSuccess();
}

// Macros so that failures point at the caller's line; all accept "<< message".
#define ASSERT_OK(expr) ASSERT_TRUE(::strata::overlay::test::is_ok(expr))
#define EXPECT_OK(expr) EXPECT_TRUE(::strata::overlay::test::is_ok(expr))
#define EXPECT_CODE(expr, want) EXPECT_TRUE(::strata::overlay::test::has_code((expr), want))

/// A directory under /var/tmp (a real filesystem here, unlike a tmpfs /tmp on some hosts);
/// unmounts everything below it (deepest first) and removes it on destruction.
class Scratch {
public:
  Scratch();
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  const std::string& path() const { return path_; }
  /// path()/rel created as a directory (with parents).
  std::string dir(const std::string& rel) const;

private:
  std::string path_;
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

/// Reads a whole file; "" when it cannot be read.
std::string read_file(const std::string& path);
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
