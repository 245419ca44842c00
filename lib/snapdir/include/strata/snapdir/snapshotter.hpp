#pragma once
/// \file
/// DirSnapshotter: what every snapshotter that keeps one entry per snapshot under a root shares
/// (overlay, native, blockfile). The metadata lives in lib/metastore; the entries live under
/// <root>/snapshots/ and are named by metastore id, never by key (keys may hold '/' and spaces).
///
/// While a snapshot is created its entry is snapshots/new-<id>, while it is removed
/// snapshots/rm-<id>; both are renamed inside the metadata write transaction, so a crash leaves
/// either an entry no record owns (removed by cleanup() and at open) or an rm-<id> whose removal
/// never committed (renamed back at open). A subclass only says what an entry holds (populate),
/// how it is mounted (build_mounts) and how big it is (measure).

#include <strata/metastore/metastore.hpp>
#include <strata/plugin/guard.hpp>
#include <strata/plugin/logger.hpp>
#include <strata/plugin/snapshotter.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace strata::snapdir {

/// `s` in double quotes, for keys and paths in messages.
inline std::string q(const std::string& s) {
  return "\"" + s + "\"";
}

/// What opening a root found and repaired.
struct Reconciled {
  /// Snapshots whose entry is missing, as "\"key\" (id N, path)": their mounts will fail;
  /// removing them is the fix. They do not stop the snapshotter.
  std::vector<std::string> missing;
  /// Entries under snapshots/ that no snapshot owned, removed.
  std::vector<std::string> orphans_removed;
  /// rm-<id> entries of removals that never committed, renamed back to <id>.
  std::vector<std::string> restored;

  /// `missing` joined with "; ", for a plugin's "missing_snapshots" export ("" when none): an
  /// operator sees the damage in `strata plugins ls` without reading logs.
  std::string missing_list() const;
};

/// Fixed traits of a subclass.
struct Params {
  /// Names the snapshotter at the start of messages, e.g. "overlay snapshotter".
  std::string name;
  /// After every remove, also delete every orphan entry (cleanup()), not only the removed one.
  bool sync_remove = false;
};

/// A snapshot being created, as populate() sees it.
struct Creating {
  const std::string& key;              ///< the new snapshot's key
  const metastore::Snapshot& snapshot; ///< its id, kind and committed parents (immediate first)
  const Labels& labels;                ///< the labels it is created with
  /// Where its entry must be made: snapshots/new-<id>, which does not exist yet. It is renamed to
  /// snapshots/<id> once populate() returns.
  const std::string& path;
};

/// Snapshots as entries under <root>/snapshots/ with their metadata in <root>/metadata.db.
/// Thread-safe: every operation is one metastore transaction. Methods never throw.
class DirSnapshotter : public Snapshotter {
public:
  /// The root directory.
  const std::string& root() const noexcept { return root_; }
  /// The entry of snapshot `id`: <root>/snapshots/<id>.
  std::string snapshot_path(metastore::SnapshotId id) const;

  /// Info as stored, with decorate()'s labels.
  /// Errors: NotFound; FailedPrecondition once closed; the metastore's.
  Result<Info> stat(const std::string& key) override;
  /// Updates labels as Snapshotter::update says; labels computed by decorate() are never stored.
  /// Errors: as Transaction::update_info; FailedPrecondition once closed.
  Result<Info> update(const Info& info, const std::vector<std::string>& fieldpaths) override;
  /// An active snapshot is measured now (measure()); others return what commit stored (views:
  /// zero). Errors: NotFound; measure()'s; FailedPrecondition once closed.
  Result<Usage> usage(const std::string& key) override;
  /// build_mounts() of an active or view snapshot.
  /// Errors: NotFound; FailedPrecondition (committed, or closed).
  Result<std::vector<Mount>> mounts(const std::string& key) override;
  /// Creates an active snapshot: record, then populate() under new-<id>, renamed into place and
  /// made durable before the record commits. Nothing is left behind when it fails.
  /// Errors: those of Transaction::create_snapshot; populate()'s; by errno.
  Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                     const SnapshotOptions& opts) override;
  /// As prepare(), for a read-only view.
  Result<std::vector<Mount>> view(const std::string& key, const std::string& parent,
                                  const SnapshotOptions& opts) override;
  /// Measures the active snapshot `key`, seals it (seal()) and commits it as `name`.
  /// Errors: those of Transaction::commit_active; measure()'s and seal()'s.
  Status commit(const std::string& name, const std::string& key,
                const SnapshotOptions& opts) override;
  /// Removes the record and the entry (renamed to rm-<id> inside the transaction, deleted after
  /// it commits; an entry that cannot be deleted then is an orphan for cleanup()).
  /// Errors: NotFound; FailedPrecondition (has children, or closed); by errno.
  Status remove(const std::string& key) override;
  /// Every snapshot matching `filters`, with decorate()'s labels. Errors: as Transaction::walk.
  Status walk(const WalkFn& fn, const std::vector<std::string>& filters) override;
  /// Removes every entry under snapshots/ that no snapshot owns (crashed creations and removals,
  /// stale entries), holding the write lock so that no creation is in flight.
  /// Errors: by errno, naming the entry; the metastore's.
  Status cleanup() override;
  /// Marks the snapshotter closed; later calls fail with FailedPrecondition. Idempotent.
  Status close() override;

protected:
  DirSnapshotter(std::string root, Params params, metastore::MetaStore store,
                 std::shared_ptr<Logger> log);

  /// Creates `root` (absolute; mode 0700) and root/snapshots, and opens root/metadata.db.
  /// `name` starts the messages. Errors: InvalidArgument (relative root); by errno; the
  /// metastore's.
  static Result<metastore::MetaStore> open_store(const std::string& root, const std::string& name);

  /// Reconciles snapshots/ with the metadata (see Reconciled) and logs what it found and
  /// repaired. Called once by the subclass's open, before the snapshotter is shared.
  /// Errors: by errno; the metastore's.
  Status reconcile(Reconciled* report);

  /// The logger (never null).
  const Logger& log() const noexcept { return *log_; }

  /// Runs `f` under strata::guard: nothing it throws escapes. The context names the snapshotter,
  /// the operation and `key`, built only when something was thrown.
  template <class F> auto no_throw(const char* what, const std::string& key, F&& f) const noexcept {
    return guard([&] { return params_.name + ": " + what + " " + q(key); }, std::forward<F>(f));
  }

  /// Makes the entry of a new snapshot at c.path (which does not exist yet): a directory, a
  /// file, whatever the subclass mounts. It is called inside the write transaction; when it
  /// fails, whatever is at c.path is removed and the creation fails with its error.
  virtual Status populate(const Creating& c) = 0;

  /// The mounts of active or view snapshot `s` created with `labels`.
  virtual std::vector<Mount> build_mounts(const metastore::Snapshot& s,
                                          const Labels& labels) const = 0;

  /// The usage of active snapshot `s` itself, parents excluded (Snapshotter::usage), measured
  /// from its entry now; stored at commit. Errors: by errno, naming the entry.
  virtual Result<Usage> measure(const metastore::Snapshot& s) const = 0;

  /// Called by commit() after measure() and before the record commits: whatever must be durable
  /// before a snapshot counts as committed (blockfile fsyncs its image). Default: nothing.
  virtual Status seal(metastore::SnapshotId id) const;

  /// Info as callers see it, with labels computed from the id (overlay's upperdir label).
  /// Default: unchanged.
  virtual Info decorate(Info info, metastore::SnapshotId id) const;

  /// The labels decorate() computes; update() drops them from requests so they never go stale
  /// in the store. Default: none.
  virtual std::vector<std::string> computed_labels() const;

private:
  Result<std::vector<Mount>> create(Kind kind, const std::string& key, const std::string& parent,
                                    const SnapshotOptions& opts);
  Status check_open() const;
  // Removes (or restores) the entries under snapshots/ that the metadata does not explain.
  Status sweep(metastore::Transaction& tx, Reconciled* report);
  // Deletes `path` (any type), logging instead of failing.
  void remove_quietly(const std::string& path) const;

  std::string root_;
  Params params_;
  metastore::MetaStore store_;
  std::shared_ptr<Logger> log_;
  std::atomic<bool> closed_{false};
};

} // namespace strata::snapdir
