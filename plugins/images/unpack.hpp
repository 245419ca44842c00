#pragma once
// Unpacking an image into a snapshotter: one committed snapshot per layer, named by its chain ID.
//
// Sequential: prepare on the parent chain ID, apply (the differ syncs with --sync-fs), commit,
// layer after layer.
// Parallel (the snapshotter can "rebase" and the diff service lists "apply-unknown-lowers"):
// prepare every missing layer above the lowest without a parent and apply them concurrently
// with ApplyTarget::UpperdirUnknownLowers (strata/plugin/differ.hpp: whiteouts stay markers for
// the layers below once rebased), then commit in layer order, each onto its parent. A layer
// whose apply says NeedsParent (or NotImplemented: no differ takes that target for it) is
// applied again, in order, onto its committed parent.
// Either way an existing committed chain ID is a finished layer, a commit that finds its chain ID
// already committed (a concurrent unpack won) counts as success, and a failure removes every
// active snapshot this unpack created.

#include "chain_locks.hpp"

#include <strata/plugin/differ.hpp>
#include <strata/plugin/images.hpp>
#include <strata/plugin/snapshotter.hpp>

#include <condition_variable>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace strata::images {

/// A snapshotter the service can unpack into.
struct UnpackTarget {
  std::shared_ptr<Snapshotter> snapshotter;
  /// It advertises the "rebase" capability (SnapshotOptions::parent on commit).
  bool can_rebase = false;
};

/// Everything an unpack uses besides the image, set up by the plugin glue.
struct UnpackEnvironment {
  /// By snapshotter id ("overlayfs").
  std::map<std::string, UnpackTarget> snapshotters;
  /// The diff service (differs tried in configured order); null: unpack is Unavailable.
  std::shared_ptr<Differ> differ;
  /// The diff service lists capability::apply_unknown_lowers: parallel unpack is possible.
  bool differ_applies_unknown_lowers = false;
  /// Config `sync_fs`: sync every unpack, whatever it asks (through ApplyOptions::sync_fs).
  bool sync_fs = false;
  /// Config `max_parallel_layers`: layers applied at once in parallel mode.
  std::size_t max_parallel = 4;
};

/// Unpacks `image` as ImageService::unpack describes.
Result<UnpackResult> unpack_image(const Image& image, const UnpackOptions& opts,
                                  const UnpackEnvironment& env, ChainLocks& locks);

/// Removes the active snapshots an unpack interrupted by a crash left in `snapshotter` (those
/// labelled unpack_label::snapshot_ref); call only when no unpack is running. Returns their keys.
/// Errors: the snapshotter's.
Result<std::vector<std::string>> remove_unpack_leftovers(Snapshotter& snapshotter);

} // namespace strata::images
