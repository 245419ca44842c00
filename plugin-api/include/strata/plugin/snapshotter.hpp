#pragma once
/// \file
/// Snapshotter: the interface of strata.snapshotter.v1 plugins.
///
/// Terms: a *key* names an active or view snapshot, a *name* a committed one, and both share one
/// key space (an active key cannot equal a committed name). A *parent* is always committed; an
/// empty parent means an empty directory. Keys may contain '/' and spaces: never use them as file
/// names. Implementations must not throw; every failure is a returned Error.

#include "strata/plugin/instance.hpp"
#include "strata/plugin/mount.hpp"
#include "strata/plugin/snapshot.hpp"

#include <functional>
#include <string>
#include <vector>

namespace strata {

/// Options of prepare, view and commit.
struct SnapshotOptions {
  /// prepare/view: labels of the new snapshot. commit: labels of the committed snapshot (they
  /// replace, not extend, the active snapshot's labels).
  Labels labels;
  /// commit only, and only with the "rebase" capability: the committed snapshot's parent. An
  /// active snapshot prepared without a parent may be committed onto `parent`; the same parent is
  /// accepted; a different non-empty one is InvalidArgument.
  std::string parent;
};

/// Called for each snapshot by Snapshotter::walk; an error stops the walk and is returned.
using WalkFn = std::function<Status(const Info&)>;

/// A snapshotter: creates, commits and removes layered filesystem snapshots.
class Snapshotter : public Instance {
public:
  ~Snapshotter() override;

  /// Info of an active, view or committed snapshot.
  /// Errors: NotFound when `key` does not exist.
  virtual Result<Info> stat(const std::string& key) = 0;

  /// Updates labels, the only mutable field. No field paths replaces the whole label map;
  /// "labels" does the same; "labels.<k>" sets k to info.labels[k], and a missing or empty value
  /// deletes k. `updated` becomes now; `created` is kept. Returns the updated Info.
  /// Errors: NotFound (no such snapshot); InvalidArgument (any other field path, e.g. "parent";
  /// nothing is changed).
  virtual Result<Info> update(const Info& info, const std::vector<std::string>& fieldpaths) = 0;

  /// Disk usage of the snapshot itself, excluding parents: computed live for active snapshots,
  /// recorded at commit for committed ones, zero for views.
  /// Errors: NotFound.
  virtual Result<Usage> usage(const std::string& key) = 0;

  /// The mounts of an active or view snapshot (the same as prepare/view returned).
  /// Errors: NotFound; FailedPrecondition when `key` is committed.
  virtual Result<std::vector<Mount>> mounts(const std::string& key) = 0;

  /// Creates an active (writable) snapshot `key` on top of committed `parent` and returns its
  /// mounts.
  /// Errors: AlreadyExists (key exists as any kind, including a committed name); NotFound
  /// (parent missing); InvalidArgument (parent is not committed).
  virtual Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                             const SnapshotOptions& opts) = 0;

  /// Like prepare, but the snapshot is a view: its mounts may be read-only and it can never be
  /// committed. Errors: as prepare.
  virtual Result<std::vector<Mount>> view(const std::string& key, const std::string& parent,
                                          const SnapshotOptions& opts) = 0;

  /// Turns active snapshot `key` into committed snapshot `name`, reusing its data; `key`
  /// disappears. Created/updated reset to now.
  /// Errors: NotFound (key missing, or rebase parent missing); AlreadyExists (name exists);
  /// FailedPrecondition (key is a view or committed; rebase parent not committed);
  /// InvalidArgument (rebase onto a different parent).
  virtual Status commit(const std::string& name, const std::string& key,
                        const SnapshotOptions& opts) = 0;

  /// Removes a snapshot of any kind and its data.
  /// Errors: NotFound; FailedPrecondition when it has children (active, view or committed).
  virtual Status remove(const std::string& key) = 0;

  /// Calls `fn` for every snapshot matching any of `filters` (none: all), in byte order of name.
  /// Filter syntax: comma-separated AND terms, several filters OR'd; fields kind, name, parent,
  /// labels.<k>; operators ==, !=, ~= (regex); a bare field tests presence. parse_snapshot_filters
  /// and matches (filters.hpp) implement exactly this.
  /// Errors: InvalidArgument (filter does not parse); whatever `fn` returns.
  virtual Status walk(const WalkFn& fn, const std::vector<std::string>& filters) = 0;

  /// Removes data left behind by interrupted removals or crashes.
  /// Errors: NotImplemented when the snapshotter has nothing to clean (the default).
  virtual Status cleanup();
};

} // namespace strata
