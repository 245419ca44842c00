#pragma once
// The snapshotter conformance suite: one set of GoogleTest cases (cases.cpp) that any
// strata::Snapshotter must pass, run once per registered snapshotter. A runner registers its
// snapshotters with add_snapshotter() *before* ::testing::InitGoogleTest (the cases are
// instantiated there), then calls RUN_ALL_TESTS. See README.md.

#include <strata/plugin/snapshotter.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>

namespace strata::conformance {

/// Opens a snapshotter whose data lives under `root` (an absolute path that may not exist yet).
/// Called once per case on a fresh root, and again on the same root after close() when
/// Description::reopen is set.
using Factory = std::function<Result<std::shared_ptr<Snapshotter>>(const std::string& root)>;

/// One snapshotter under test.
struct Description {
  /// Test-name suffix ("overlayfs"); letters, digits and '_' are kept, the rest becomes '_'.
  std::string name;
  /// Capabilities the snapshotter declares in its Meta; "rebase" enables the rebase case.
  std::set<std::string> capabilities;
  /// factory(root) after close() sees the snapshots of the earlier instance (persistence case).
  bool reopen = true;
  /// When non-empty every case skips with this reason (e.g. the plugin skipped at init).
  std::string skip_reason;
  Factory factory;
};

/// Registers a snapshotter; call before ::testing::InitGoogleTest.
void add_snapshotter(Description d);

/// The directory the cases create their scratch directories in: $STRATA_CONFORMANCE_TMPDIR, else
/// /var/tmp (a real filesystem; /tmp may be a tmpfs, which some snapshotters cannot use).
std::string scratch_parent();

} // namespace strata::conformance
