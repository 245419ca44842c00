#pragma once
// OverlaySnapshotter: the strata.snapshotter.v1 "overlayfs" plugin's Snapshotter.
//
// Layout under the root: metadata.db (lib/metastore) and snapshots/<id>/{fs,work}, directories
// named by metastore id, never by key. While a snapshot is created its directory is
// snapshots/new-<id>, while it is removed snapshots/rm-<id>; both are renamed inside the
// metadata write transaction, so a crash leaves either a directory no record owns (removed by
// cleanup() and at start) or an rm-<id> whose removal never committed (renamed back at start).

#include "config.hpp"
#include "probe.hpp"

#include <strata/metastore/metastore.hpp>
#include <strata/plugin/logger.hpp>
#include <strata/plugin/snapshotter.hpp>

#include <atomic>
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
struct Reconciled {
  /// Snapshots whose directory is missing, as "\"key\" (id N)": their mounts will fail; removing
  /// them is the fix. They do not stop the snapshotter.
  std::vector<std::string> missing;
  /// Directories under snapshots/ that no snapshot owned, removed.
  std::vector<std::string> orphans_removed;
  /// rm-<id> directories of removals that never committed, renamed back to <id>.
  std::vector<std::string> restored;
};

/// Overlay snapshots on the local filesystem. Thread-safe: every operation is one metastore
/// transaction. Methods never throw.
class OverlaySnapshotter : public Snapshotter {
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

  /// The root directory.
  const std::string& root() const noexcept { return root_; }
  /// The features the mounts are built for.
  const Features& features() const noexcept { return features_; }

  Result<Info> stat(const std::string& key) override;
  Result<Info> update(const Info& info, const std::vector<std::string>& fieldpaths) override;
  Result<Usage> usage(const std::string& key) override;
  Result<std::vector<Mount>> mounts(const std::string& key) override;
  Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                     const SnapshotOptions& opts) override;
  Result<std::vector<Mount>> view(const std::string& key, const std::string& parent,
                                  const SnapshotOptions& opts) override;
  Status commit(const std::string& name, const std::string& key,
                const SnapshotOptions& opts) override;
  Status remove(const std::string& key) override;
  Status walk(const WalkFn& fn, const std::vector<std::string>& filters) override;
  /// Removes every directory under snapshots/ that no snapshot owns (crashed creations and
  /// removals, stale directories), holding the write lock so that no creation is in flight.
  Status cleanup() override;
  /// Marks the snapshotter closed; later calls fail with FailedPrecondition. Idempotent.
  Status close() override;

protected:
  OverlaySnapshotter(std::string root, Config config, Features features, metastore::MetaStore store,
                     std::shared_ptr<Logger> log);

private:
  std::string snapshot_dir(metastore::SnapshotId id) const;
  std::string fs_dir(metastore::SnapshotId id) const;
  Result<std::vector<Mount>> create(Kind kind, const std::string& key, const std::string& parent,
                                    const SnapshotOptions& opts);
  Result<std::vector<Mount>> create_locked(Kind kind, const std::string& key,
                                           const std::string& parent, const SnapshotOptions& opts);
  std::vector<Mount> build_mounts(const metastore::Snapshot& s, const Labels& labels) const;
  Info with_upperdir(Info info, metastore::SnapshotId id) const;
  Status check_open() const;
  // Removes (or restores) the directories under snapshots/ that `owned` does not explain.
  Status sweep(metastore::Transaction& tx, Reconciled* report);

  std::string root_;
  Config config_;
  Features features_;
  metastore::MetaStore store_;
  std::shared_ptr<Logger> log_;
  std::atomic<bool> closed_{false};
};

} // namespace strata::overlay
