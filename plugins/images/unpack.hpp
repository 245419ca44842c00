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

/// Names locked by unpacks in progress ("<snapshotter>/<chain id>"), so that a second unpack of
/// the same layers waits for the first and then finds them committed instead of applying them
/// again. Locks are taken in layer order: a chain ID only ever sits at one depth, so two unpacks
/// never wait for each other in a cycle.
class ChainLocks {
public:
  class Held {
  public:
    Held(ChainLocks& owner, std::vector<std::string> names);
    ~Held();
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

  private:
    ChainLocks& owner_;
    std::vector<std::string> names_;
  };

  /// Blocks until every name is free, taking them one by one in the order given.
  std::unique_ptr<Held> lock(std::vector<std::string> names);

private:
  std::mutex mu_;
  std::condition_variable freed_;
  std::set<std::string> held_;
};

/// Unpacks `image` as ImageService::unpack describes.
Result<UnpackResult> unpack_image(const Image& image, const UnpackOptions& opts,
                                  const UnpackEnvironment& env, ChainLocks& locks);

/// Removes the active snapshots an unpack interrupted by a crash left in `snapshotter` (those
/// labelled unpack_label::snapshot_ref); call only when no unpack is running. Returns their keys.
/// Errors: the snapshotter's.
Result<std::vector<std::string>> remove_unpack_leftovers(Snapshotter& snapshotter);

} // namespace strata::images
