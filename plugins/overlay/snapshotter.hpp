#pragma once
// OverlaySnapshotter: the strata.snapshotter.v1 "overlayfs" plugin's Snapshotter.
//
// Layout under the root (lib/snapdir): metadata.db and snapshots/<id>/{fs,work}. A snapshot's
// fs/ is its overlay upper layer; its parents' fs/ directories are the lower layers.

#include "config.hpp"
#include "probe.hpp"

#include <strata/snapdir/snapshotter.hpp>

#include <memory>
#include <string>
#include <vector>

namespace strata::overlay {

/// Label with the snapshot's upper directory, added to Info when Config::upperdir_label is set.
inline constexpr const char* upperdir_label = "containerd.io/snapshot/overlay.upperdir";
/// Labels asking for a uid/gid-mapped snapshot: "container:host:size[,...]" each.
inline constexpr const char* uidmapping_label = "containerd.io/snapshot/uidmapping";
inline constexpr const char* gidmapping_label = "containerd.io/snapshot/gidmapping";

/// What opening a root found and repaired.
using Reconciled = snapdir::Reconciled;

/// Overlay snapshots on the local filesystem. Thread-safe: every operation is one metastore
/// transaction. Methods never throw.
class OverlaySnapshotter : public snapdir::DirSnapshotter {
public:
  /// Opens the snapshotter at `root` (absolute; created with mode 0700 if missing): creates
  /// snapshots/, opens metadata.db, and reconciles the two (see Reconciled), logging what it
  /// found to `log`. `features` come from probe(root). `log` (InitContext::logger() in the
  /// plugin; null: null_logger()) also gets what later operations repair or cannot undo.
  /// Errors: InvalidArgument (relative root); those of the metastore and of the filesystem.
  static Result<std::shared_ptr<OverlaySnapshotter>> open(const std::string& root, Config config,
                                                          Features features,
                                                          Reconciled* report = nullptr,
                                                          std::shared_ptr<Logger> log = nullptr);

  /// The features the mounts are built for.
  const Features& features() const noexcept { return features_; }

protected:
  OverlaySnapshotter(std::string root, Config config, Features features, metastore::MetaStore store,
                     std::shared_ptr<Logger> log);

  /// snapshots/<id>/fs (0755, owned like the parent's, or shifted for an idmap request without
  /// idmapped mounts: a slow_chown copy of the parents) and, for an active snapshot, work/.
  /// Errors: FailedPrecondition for idmap labels that cannot be honoured; by errno.
  Status populate(const snapdir::Creating& c) override;
  std::vector<Mount> build_mounts(const metastore::Snapshot& s,
                                  const Labels& labels) const override;
  /// Disk usage of the snapshot's fs/ (its upper layer only).
  Result<Usage> measure(const metastore::Snapshot& s) const override;
  /// Adds upperdir_label when Config::upperdir_label is set.
  Info decorate(Info info, metastore::SnapshotId id) const override;
  std::vector<std::string> computed_labels() const override;

private:
  std::string fs_dir(metastore::SnapshotId id) const;

  Config config_;
  Features features_;
};

} // namespace strata::overlay
