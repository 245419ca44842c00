#pragma once
// BlockfileSnapshotter: the strata.snapshotter.v1 "blockfile" plugin's Snapshotter.
//
// Layout under the root (lib/snapdir): scratch (the empty filesystem image, scratch.hpp),
// metadata.db and snapshots/<id>, one filesystem image file per snapshot, mounted through a loop
// device. An active or parentless snapshot's image is a copy of its immediate parent's image (or
// of the scratch), reflinked where the filesystem under the root shares extents, else a sparse
// copy of the data extents. A view with a parent mounts the parent's image read-only and owns
// only an empty placeholder file, so that snapshots/<id> exists for every snapshot.

#include "config.hpp"

#include <strata/snapdir/snapshotter.hpp>

#include <memory>
#include <string>
#include <vector>

namespace strata::blockfile {

/// What opening a root found and repaired.
using Reconciled = snapdir::Reconciled;

/// xattr on a copied image, "<unshared> <used bytes> <used inodes>": right after the copy, how
/// many of its allocated bytes were not shared with another file (0 after a reflink, the
/// source's allocation after a plain copy), and what its filesystem had in use (fs_use). Usage
/// counts what the snapshot added beyond them.
inline constexpr const char* baseline_xattr = "user.strata.blockfile.baseline";

/// Blockfile snapshots on the local filesystem. Thread-safe: every operation is one metastore
/// transaction. Methods never throw. Sequential only: commit never rebases (no "rebase").
class BlockfileSnapshotter : public snapdir::DirSnapshotter {
public:
  /// Opens the snapshotter at `root` (absolute; created with mode 0700 if missing), whose scratch
  /// ensure_scratch() has made: creates snapshots/, opens metadata.db, and reconciles the two
  /// (see Reconciled), logging what it found to `log` (null: null_logger()).
  /// Errors: InvalidArgument (relative root); those of the metastore and of the filesystem.
  static Result<std::shared_ptr<BlockfileSnapshotter>> open(const std::string& root, Config config,
                                                            Reconciled* report = nullptr,
                                                            std::shared_ptr<Logger> log = nullptr);

  /// The configuration the images are made and mounted with.
  const Config& config() const noexcept { return config_; }

protected:
  /// For open() (and the plugin class that names the spec): `store` is the opened metadata.
  BlockfileSnapshotter(std::string root, Config config, metastore::MetaStore store,
                       std::shared_ptr<Logger> log);

  /// An active or parentless snapshot: a copy of the immediate parent's image or of the scratch
  /// (copy_image), with baseline_xattr set. A view with a parent: an empty placeholder file.
  /// Errors: those of copy_image and of FIEMAP, naming the files.
  Status populate(const snapdir::Creating& c) override;
  /// One mount (image_mount): the snapshot's own image, read-write when active; a view with a
  /// parent mounts the parent's image read-only. The type is the image's own (its superblock),
  /// so snapshots made before fs_type changed (recreate_scratch) still mount.
  std::vector<Mount> build_mounts(const metastore::Snapshot& s,
                                  const Labels& labels) const override;
  /// Bytes: the larger of the image's allocated bytes not shared with another file (FIEMAP's
  /// shared extents) beyond the baseline's (baseline_xattr), and the bytes its filesystem uses
  /// (fs_use) beyond the baseline's. Inodes: those its filesystem uses beyond the baseline's.
  /// Never below 0: a snapshot that deletes its parent's files has added nothing.
  /// Measured from the image as last written: while it is mounted, what the kernel has not
  /// written back yet is not counted.
  /// Errors: by errno, naming the image (NotFound when it is gone).
  Result<Usage> measure(const metastore::Snapshot& s) const override;
  /// Before an active snapshot's record commits: refuses an image still attached to a loop
  /// device (FailedPrecondition: mounted somewhere, it would keep changing after the commit);
  /// replays its journal by one read-write mount when a read-only mount might need recovery
  /// (may_need_recovery); fsyncs the image.
  /// Errors: FailedPrecondition (still attached); NotFound (image gone); the mount's; by errno.
  Status seal(metastore::SnapshotId id) const override;

private:
  // The filesystem in `image` by its superblock; config().fs_type when it cannot be read.
  FsType type_of(const std::string& image) const;
  // image_mount() of `image` with its own type and the configured options.
  Mount mount_of(const std::string& image, bool writable) const;

  Config config_;
};

} // namespace strata::blockfile
