#pragma once
// NativeSnapshotter: the strata.snapshotter.v1 "native" plugin's Snapshotter, for filesystems
// where overlay cannot work (or is not wanted).
//
// Layout under the root (lib/snapdir): metadata.db and snapshots/<id>/, each directory the whole
// filesystem of its snapshot. An active snapshot starts as a full copy of its parent (lib/fs
// copy_tree: reflinked where the filesystem shares extents, holes kept); a view of a committed
// snapshot bind-mounts the parent read-only and copies nothing. Every mount is a bind mount.

#include "config.hpp"

#include <strata/snapdir/snapshotter.hpp>

#include <memory>
#include <string>
#include <vector>

namespace strata::native {

/// What opening a root found and repaired.
using Reconciled = snapdir::Reconciled;

/// Native snapshots: full copies in plain directories. Thread-safe; methods never throw.
class NativeSnapshotter : public snapdir::DirSnapshotter {
public:
  /// Opens the snapshotter at `root` (absolute; created with mode 0700 if missing), reconciling
  /// snapshots/ with metadata.db (see Reconciled) and logging what it found and what later
  /// operations skip or repair to `log` (null: null_logger()).
  /// Errors: InvalidArgument (relative root); those of the metastore and of the filesystem.
  static Result<std::shared_ptr<NativeSnapshotter>> open(const std::string& root, Config config,
                                                         Reconciled* report = nullptr,
                                                         std::shared_ptr<Logger> log = nullptr);

protected:
  NativeSnapshotter(std::string root, Config config, metastore::MetaStore store,
                    std::shared_ptr<Logger> log);

  /// An active or parentless snapshot: a directory (0755 when parentless) holding a copy of the
  /// immediate parent's tree. A view of a parent: an empty placeholder directory, since its mount
  /// is the parent's. Errors: copy_tree()'s (a refused xattr with xattr_errors = "fail"); by errno.
  Status populate(const snapdir::Creating& c) override;
  /// One bind mount ("rbind" plus "rw" or "ro") of the snapshot's own directory, or for a view
  /// of a parent, of the parent's.
  std::vector<Mount> build_mounts(const metastore::Snapshot& s,
                                  const Labels& labels) const override;
  /// What the snapshot adds to its parent: the disk usage of its tree minus that of the immediate
  /// parent's tree (which it started as a copy of), each field at least 0. containerd's native
  /// snapshotter reports the whole tree instead, counting every layer below again; the contract
  /// is "parents excluded". A copy that shares extents with its parent (reflink) still counts
  /// the shared blocks once in each tree, so the difference is the same on every filesystem.
  Result<Usage> measure(const metastore::Snapshot& s) const override;

private:
  Config config_;
};

} // namespace strata::native
