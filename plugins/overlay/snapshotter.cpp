// OverlaySnapshotter: opening a root and the snapshot operations. The mounts are built in
// mounts.cpp, the snapshots/ directory reconciled in sweep.cpp.
#include "snapshotter.hpp"

#include "guarded.hpp"
#include "idmap_labels.hpp"
#include "tree.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/root.hpp>
#include <strata/mount/idmap.hpp>
#include <strata/mount/temp.hpp>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::overlay {
namespace {

using metastore::SnapshotId;

Status make_dir_exact(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0)
    return fs::sys_error("cannot create " + path, errno);
  if (::chmod(path.c_str(), mode) != 0) // the umask must not narrow it
    return fs::sys_error("cannot set the mode of " + path, errno);
  return {};
}

Status lchown(const std::string& path, uid_t uid, gid_t gid) {
  if (::lchown(path.c_str(), uid, gid) != 0)
    return fs::sys_error("cannot chown " + path, errno);
  return {};
}

void remove_quietly(const std::string& path, const Logger& log) {
  if (Status st = fs::remove_all_at(AT_FDCWD, path, path); !st)
    log.warn("cannot remove " + path + ": " + st.error().message());
}

} // namespace

OverlaySnapshotter::OverlaySnapshotter(std::string root, Config config, Features features,
                                       metastore::MetaStore store, std::shared_ptr<Logger> log)
    : root_(std::move(root)), config_(std::move(config)), features_(features),
      store_(std::move(store)), log_(log ? std::move(log) : null_logger()) {}

Result<std::shared_ptr<OverlaySnapshotter>>
OverlaySnapshotter::open(const std::string& root, Config config, Features features,
                         Reconciled* report, std::shared_ptr<Logger> log) {
  return no_throw("open", root, [&]() -> Result<std::shared_ptr<OverlaySnapshotter>> {
    if (root.empty() || root.front() != '/')
      return invalid_argument("overlay snapshotter: root " + q(root) + " is not absolute");
    std::error_code ec;
    std::filesystem::create_directories(root, ec);
    if (ec)
      return fs::sys_error("overlay snapshotter: cannot create " + root, ec.value());
    if (Status st = fs::make_dir(root, 0700); !st)
      return st.error();
    if (Status st = fs::make_dir(root + "/snapshots", 0700); !st)
      return st.error();
    auto store = metastore::MetaStore::open(root + "/metadata.db");
    if (!store)
      return std::move(store).error();
    std::shared_ptr<OverlaySnapshotter> s(new OverlaySnapshotter(
        root, std::move(config), features, std::move(*store), std::move(log)));

    Reconciled local;
    Reconciled& r = report ? *report : local;
    auto tx = s->store_.begin(true);
    if (!tx)
      return std::move(tx).error();
    if (Status st = s->sweep(*tx, &r); !st)
      return st.error();
    tx->rollback();
    // The root is in every line: tests and tools open more than one snapshotter per process.
    for (const std::string& m : r.missing)
      s->log_->warn(root + ": snapshot " + m +
                    " has no directory: its mounts will fail; remove the snapshot");
    for (const std::string& d : r.restored)
      s->log_->info(root + ": restored " + d + " (its removal never committed)");
    for (const std::string& d : r.orphans_removed)
      s->log_->info(root + ": removed orphan directory " + d);
    return s;
  });
}

std::string OverlaySnapshotter::snapshot_dir(SnapshotId id) const {
  return root_ + "/snapshots/" + std::to_string(id);
}

std::string OverlaySnapshotter::fs_dir(SnapshotId id) const {
  return snapshot_dir(id) + "/fs";
}

Status OverlaySnapshotter::check_open() const {
  if (closed_.load())
    return failed_precondition("overlay snapshotter " + root_ + " is closed");
  return {};
}

Info OverlaySnapshotter::with_upperdir(Info info, SnapshotId id) const {
  if (config_.upperdir_label)
    info.labels[upperdir_label] = fs_dir(id);
  return info;
}

Result<Info> OverlaySnapshotter::stat(const std::string& key) {
  return no_throw("stat", key, [&]() -> Result<Info> {
    if (Status st = check_open(); !st)
      return st.error();
    auto tx = store_.begin(false);
    if (!tx)
      return std::move(tx).error();
    auto rec = tx->get_info(key);
    if (!rec)
      return std::move(rec).error();
    return with_upperdir(std::move(rec->info), rec->id);
  });
}

Result<Info> OverlaySnapshotter::update(const Info& info,
                                        const std::vector<std::string>& fieldpaths) {
  return no_throw("update", info.name, [&]() -> Result<Info> {
    if (Status st = check_open(); !st)
      return st.error();
    Info in = info;
    // The label is computed from the id; storing a copy of it could only go stale.
    if (config_.upperdir_label)
      in.labels.erase(upperdir_label);
    auto tx = store_.begin(true);
    if (!tx)
      return std::move(tx).error();
    auto updated = tx->update_info(in, fieldpaths);
    if (!updated)
      return std::move(updated).error();
    auto rec = tx->get_info(updated->name);
    if (!rec)
      return std::move(rec).error();
    if (Status st = tx->commit(); !st)
      return st.error();
    return with_upperdir(std::move(*updated), rec->id);
  });
}

Result<Usage> OverlaySnapshotter::usage(const std::string& key) {
  return no_throw("usage of", key, [&]() -> Result<Usage> {
    if (Status st = check_open(); !st)
      return st.error();
    auto tx = store_.begin(false);
    if (!tx)
      return std::move(tx).error();
    auto rec = tx->get_info(key);
    if (!rec)
      return std::move(rec).error();
    if (rec->info.kind != Kind::Active)
      return rec->usage;
    auto u = disk_usage(fs_dir(rec->id));
    if (!u)
      return std::move(u).error().wrap("usage of snapshot " + q(key));
    return *u;
  });
}

Result<std::vector<Mount>> OverlaySnapshotter::mounts(const std::string& key) {
  return no_throw("mounts of", key, [&]() -> Result<std::vector<Mount>> {
    if (Status st = check_open(); !st)
      return st.error();
    auto tx = store_.begin(false);
    if (!tx)
      return std::move(tx).error();
    auto snap = tx->get_snapshot(key);
    if (!snap)
      return std::move(snap).error();
    auto rec = tx->get_info(key);
    if (!rec)
      return std::move(rec).error();
    return build_mounts(*snap, rec->info.labels);
  });
}

Result<std::vector<Mount>> OverlaySnapshotter::prepare(const std::string& key,
                                                       const std::string& parent,
                                                       const SnapshotOptions& opts) {
  return create(Kind::Active, key, parent, opts);
}

Result<std::vector<Mount>> OverlaySnapshotter::view(const std::string& key,
                                                    const std::string& parent,
                                                    const SnapshotOptions& opts) {
  return create(Kind::View, key, parent, opts);
}

Result<std::vector<Mount>> OverlaySnapshotter::create(Kind kind, const std::string& key,
                                                      const std::string& parent,
                                                      const SnapshotOptions& opts) {
  return no_throw(kind == Kind::View ? "view" : "prepare", key,
                  [&] { return create_locked(kind, key, parent, opts); });
}

Result<std::vector<Mount>> OverlaySnapshotter::create_locked(Kind kind, const std::string& key,
                                                             const std::string& parent,
                                                             const SnapshotOptions& opts) {
  if (Status st = check_open(); !st)
    return st.error();
  auto tx = store_.begin(true);
  if (!tx)
    return std::move(tx).error();
  auto snap = tx->create_snapshot(kind, key, parent, opts.labels);
  if (!snap)
    return std::move(snap).error();
  auto req = idmap_request(opts.labels, key);
  if (!req)
    return std::move(req).error();
  if (req->has_value() && !features_.idmap && !config_.slow_chown)
    return failed_precondition(
        "snapshot " + q(key) + ": the labels " + uidmapping_label + " and " + gidmapping_label +
        " need idmapped mounts, which do not work on " + root_ +
        "; to copy the parent layers with shifted ownership instead (slow, uses disk space), set "
        "slow_chown = true in [plugins.\"strata.snapshotter.v1.overlayfs\"]");

  // Built under a temporary name and renamed into place, so that snapshots/<id> either is
  // complete or does not exist; whatever exists when this fails is removed.
  const std::string tmp = root_ + "/snapshots/new-" + std::to_string(snap->id);
  const std::string final_dir = snapshot_dir(snap->id);
  bool done = false;
  struct Undo {
    bool& done;
    const std::string &tmp, &final_dir;
    const Logger& log;
    ~Undo() {
      if (!done) {
        remove_quietly(tmp, log);
        remove_quietly(final_dir, log);
      }
    }
  } undo{done, tmp, final_dir, *log_};

  // A crash may have left a directory of that name while the id was being handed out.
  remove_quietly(tmp, *log_);
  if (Status st = make_dir_exact(tmp, 0700); !st)
    return st.error();
  const std::string fs = tmp + "/fs";
  if (Status st = make_dir_exact(fs, 0755); !st)
    return st.error();
  if (kind == Kind::Active)
    if (Status st = make_dir_exact(tmp + "/work", 0711); !st)
      return st.error();

  if (req->has_value()) {
    const IdmapRequest& r = **req;
    uid_t host_uid = map_id(r.uids, 0);
    gid_t host_gid = map_id(r.gids, 0);
    if (features_.idmap) {
      // An idmapped bind shows the on-disk root (0) as the host root already; an upperdir is not
      // idmapped, so it must belong to the host root itself.
      if (!snap->parent_ids.empty())
        if (Status st = lchown(fs, host_uid, host_gid); !st)
          return st.error();
    } else if (snap->parent_ids.empty()) {
      if (Status st = lchown(fs, host_uid, host_gid); !st)
        return st.error();
    } else {
      metastore::Snapshot parents{0, Kind::View, snap->parent_ids};
      std::vector<Mount> lower = build_mounts(parents, {});
      Status st = mount::with_readonly_temp_mount(lower, [&](const std::string& merged) {
        return copy_shifted(merged, fs, r.uids, r.gids);
      });
      if (!st)
        return st.error().wrap("snapshot " + q(key) + ": slow_chown copy of the parent layers");
    }
  } else if (!snap->parent_ids.empty()) {
    // The new root directory looks like its parent's, whatever the parent's owner.
    struct stat pst {};
    const std::string pfs = fs_dir(snap->parent_ids.front());
    if (::stat(pfs.c_str(), &pst) != 0)
      return fs::sys_error("snapshot " + q(key) + ": parent directory " + pfs, errno);
    if (Status st = lchown(fs, pst.st_uid, pst.st_gid); !st)
      return st.error();
  }

  if (::rename(tmp.c_str(), final_dir.c_str()) != 0)
    return fs::sys_error("cannot rename " + tmp + " to " + final_dir, errno);
  // The directory entry must be durable before the record that points at it.
  if (Status st = fs::fsync_dir(root_ + "/snapshots"); !st)
    return st.error();
  std::vector<Mount> result = build_mounts(*snap, opts.labels);
  if (Status st = tx->commit(); !st)
    return st.error();
  done = true;
  return result;
}

Status OverlaySnapshotter::commit(const std::string& name, const std::string& key,
                                  const SnapshotOptions& opts) {
  return no_throw("commit", key, [&]() -> Status {
    if (Status st = check_open(); !st)
      return st;
    auto tx = store_.begin(true);
    if (!tx)
      return std::move(tx).error();
    // The key first, so a missing key is NotFound even when the name exists.
    auto rec = tx->get_info(key);
    if (!rec)
      return std::move(rec).error();
    Usage u;
    if (rec->info.kind == Kind::Active) {
      auto measured = disk_usage(fs_dir(rec->id));
      if (!measured)
        return std::move(measured).error().wrap("commit " + q(key));
      u = *measured;
    }
    auto id = tx->commit_active(key, name, u, opts.labels, opts.parent);
    if (!id)
      return std::move(id).error();
    return tx->commit();
  });
}

Status OverlaySnapshotter::remove(const std::string& key) {
  return no_throw("remove", key, [&]() -> Status {
    if (Status st = check_open(); !st)
      return st;
    auto tx = store_.begin(true);
    if (!tx)
      return std::move(tx).error();
    auto removed = tx->remove(key);
    if (!removed)
      return std::move(removed).error();
    const std::string dir = snapshot_dir(removed->id);
    const std::string aside = root_ + "/snapshots/rm-" + std::to_string(removed->id);
    // Renamed aside before the record goes: after a crash either the record still exists (and
    // the start-up reconcile renames rm-<id> back) or only an orphan directory is left.
    bool had_dir = ::rename(dir.c_str(), aside.c_str()) == 0;
    if (!had_dir && errno != ENOENT)
      return fs::sys_error("remove " + q(key) + ": cannot rename " + dir + " to " + aside, errno);
    if (had_dir) {
      if (Status st = fs::fsync_dir(root_ + "/snapshots"); !st) {
        ::rename(aside.c_str(), dir.c_str());
        return st;
      }
    } else {
      log_->warn(root_ + ": removing " + q(key) + ", whose directory " + dir + " was missing");
    }
    if (Status st = tx->commit(); !st) {
      if (had_dir)
        ::rename(aside.c_str(), dir.c_str());
      return st;
    }
    // The record is gone; a directory that cannot be deleted now is an orphan for cleanup().
    if (had_dir)
      remove_quietly(aside, *log_);
    if (config_.sync_remove)
      if (Status st = cleanup(); !st)
        log_->warn(root_ + ": cleanup after removing " + q(key) + ": " + st.error().message());
    return {};
  });
}

Status OverlaySnapshotter::walk(const WalkFn& fn, const std::vector<std::string>& filters) {
  return no_throw("walk", "", [&]() -> Status {
    if (Status st = check_open(); !st)
      return st;
    auto tx = store_.begin(false);
    if (!tx)
      return std::move(tx).error();
    return tx->walk(
        [&](const Info& info) -> Status {
          if (!config_.upperdir_label)
            return fn(info);
          auto rec = tx->get_info(info.name);
          if (!rec)
            return std::move(rec).error();
          return fn(with_upperdir(info, rec->id));
        },
        filters);
  });
}

Status OverlaySnapshotter::close() {
  closed_.store(true);
  return {};
}

} // namespace strata::overlay
