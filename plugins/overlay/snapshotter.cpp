// OverlaySnapshotter: opening a root and what a snapshot's directory holds. The mounts are built
// in mounts.cpp; everything else is lib/snapdir's.
#include "snapshotter.hpp"

#include "idmap_labels.hpp"
#include "tree.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/usage.hpp>
#include <strata/mount/idmap.hpp>
#include <strata/mount/temp.hpp>
#include <strata/plugin/try.hpp>

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::overlay {
namespace {

using metastore::SnapshotId;
using snapdir::q;

Status lchown(const std::string& path, uid_t uid, gid_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0)
    return fs::sys_error("cannot chown " + path, errno);
  return {};
}

} // namespace

OverlaySnapshotter::OverlaySnapshotter(std::string root, Config config, Features features,
                                       metastore::MetaStore store, std::shared_ptr<Logger> log)
    : DirSnapshotter(std::move(root), snapdir::Params{"overlay snapshotter", config.sync_remove},
                     std::move(store), std::move(log)),
      config_(std::move(config)), features_(features) {}

Result<std::shared_ptr<OverlaySnapshotter>>
OverlaySnapshotter::open(const std::string& root, Config config, Features features,
                         Reconciled* report, std::shared_ptr<Logger> log) {
  return guard([&] { return "overlay snapshotter: open " + q(root); },
               [&]() -> Result<std::shared_ptr<OverlaySnapshotter>> {
                 STRATA_TRY_ASSIGN(auto store, open_store(root, "overlay snapshotter"));
                 std::shared_ptr<OverlaySnapshotter> s(new OverlaySnapshotter(
                     root, std::move(config), features, std::move(store), std::move(log)));
                 STRATA_TRY(s->reconcile(report));
                 return s;
               });
}

std::string OverlaySnapshotter::fs_dir(SnapshotId id) const {
  return snapshot_path(id) + "/fs";
}

Info OverlaySnapshotter::decorate(Info info, SnapshotId id) const {
  if (config_.upperdir_label)
    info.labels[upperdir_label] = fs_dir(id);
  return info;
}

std::vector<std::string> OverlaySnapshotter::computed_labels() const {
  // The label is computed from the id; storing a copy of it could only go stale.
  if (config_.upperdir_label)
    return {upperdir_label};
  return {};
}

Result<Usage> OverlaySnapshotter::measure(const metastore::Snapshot& s) const {
  return fs::disk_usage(fs_dir(s.id));
}

Status OverlaySnapshotter::populate(const snapdir::Creating& c) {
  const metastore::Snapshot& snap = c.snapshot;
  STRATA_TRY_ASSIGN(auto req, idmap_request(c.labels, c.key));
  if (req.has_value() && !features_.idmap && !config_.slow_chown)
    return failed_precondition(
        "snapshot " + q(c.key) + ": the labels " + uidmapping_label + " and " + gidmapping_label +
        " need idmapped mounts, which do not work on " + root() +
        "; to copy the parent layers with shifted ownership instead (slow, uses disk space), set "
        "slow_chown = true in [plugins.\"strata.snapshotter.v1.overlayfs\"]");

  STRATA_TRY(fs::make_new_dir(c.path, 0700));
  const std::string upper = c.path + "/fs";
  STRATA_TRY(fs::make_new_dir(upper, 0755));
  if (snap.kind == Kind::Active)
    STRATA_TRY(fs::make_new_dir(c.path + "/work", 0711));

  if (req.has_value()) {
    const IdmapRequest& r = *req;
    uid_t host_uid = map_id(r.uids, 0);
    gid_t host_gid = map_id(r.gids, 0);
    if (features_.idmap) {
      // An idmapped bind shows the on-disk root (0) as the host root already; an upperdir is not
      // idmapped, so it must belong to the host root itself.
      if (!snap.parent_ids.empty())
        STRATA_TRY(lchown(upper, host_uid, host_gid));
    } else if (snap.parent_ids.empty()) {
      STRATA_TRY(lchown(upper, host_uid, host_gid));
    } else {
      metastore::Snapshot parents{0, Kind::View, snap.parent_ids};
      std::vector<Mount> lower = build_mounts(parents, {});
      Status st = mount::with_readonly_temp_mount(lower, [&](const std::string& merged) {
        return copy_shifted(merged, upper, r.uids, r.gids, [&](std::string_view line) {
          log().warn("snapshot " + q(c.key) + ": slow_chown copy: " + std::string(line));
        });
      });
      if (!st)
        return st.error().wrap("snapshot " + q(c.key) + ": slow_chown copy of the parent layers");
    }
  } else if (!snap.parent_ids.empty()) {
    // The new root directory looks like its parent's, whatever the parent's owner.
    struct stat pst {};
    const std::string pfs = fs_dir(snap.parent_ids.front());
    if (::stat(pfs.c_str(), &pst) != 0)
      return fs::sys_error("snapshot " + q(c.key) + ": parent directory " + pfs, errno);
    STRATA_TRY(lchown(upper, pst.st_uid, pst.st_gid));
  }
  return {};
}

} // namespace strata::overlay
