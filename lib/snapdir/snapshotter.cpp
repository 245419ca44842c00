// DirSnapshotter: opening a root and the snapshot operations. The snapshots/ directory is
// reconciled with the metadata in sweep.cpp.
#include "strata/snapdir/snapshotter.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/root.hpp>
#include <strata/plugin/try.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>

namespace strata::snapdir {

using metastore::SnapshotId;

DirSnapshotter::DirSnapshotter(std::string root, Params params, metastore::MetaStore store,
                               std::shared_ptr<Logger> log)
    : root_(std::move(root)), params_(std::move(params)), store_(std::move(store)),
      log_(log ? std::move(log) : null_logger()) {}

Result<metastore::MetaStore> DirSnapshotter::open_store(const std::string& root,
                                                        const std::string& name) {
  if (root.empty() || root.front() != '/')
    return invalid_argument(name + ": root " + q(root) + " is not absolute");
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec)
    return fs::sys_error(name + ": cannot create " + root, ec.value());
  STRATA_TRY(fs::make_dir(root, 0700));
  STRATA_TRY(fs::make_dir(root + "/snapshots", 0700));
  return metastore::MetaStore::open(root + "/metadata.db");
}

Status DirSnapshotter::reconcile(Reconciled* report) {
  Reconciled local;
  Reconciled& r = report ? *report : local;
  STRATA_TRY_ASSIGN(auto tx, store_.begin(true));
  STRATA_TRY(sweep(tx, &r));
  tx.rollback();
  // The root is in every line: tests and tools open more than one snapshotter per process.
  for (const std::string& m : r.missing)
    log_->warn(root_ + ": snapshot " + m +
               " has no entry under snapshots/: its mounts will fail; remove the snapshot");
  for (const std::string& d : r.restored)
    log_->info(root_ + ": restored " + d + " (its removal never committed)");
  for (const std::string& d : r.orphans_removed)
    log_->info(root_ + ": removed orphan " + d);
  return {};
}

std::string DirSnapshotter::snapshot_path(SnapshotId id) const {
  return root_ + "/snapshots/" + std::to_string(id);
}

Status DirSnapshotter::check_open() const {
  if (closed_.load())
    return failed_precondition(params_.name + " " + root_ + " is closed");
  return {};
}

void DirSnapshotter::remove_quietly(const std::string& path) const {
  if (Status st = fs::remove_all_at(AT_FDCWD, path, path); !st)
    log_->warn("cannot remove " + path + ": " + st.error().message());
}

Status DirSnapshotter::seal(SnapshotId) const {
  return {};
}

Info DirSnapshotter::decorate(Info info, SnapshotId) const {
  return info;
}

std::vector<std::string> DirSnapshotter::computed_labels() const {
  return {};
}

Result<Info> DirSnapshotter::stat(const std::string& key) {
  return no_throw("stat", key, [&]() -> Result<Info> {
    STRATA_TRY(check_open());
    STRATA_TRY_ASSIGN(auto tx, store_.begin(false));
    STRATA_TRY_ASSIGN(auto rec, tx.get_info(key));
    return decorate(std::move(rec.info), rec.id);
  });
}

Result<Info> DirSnapshotter::update(const Info& info, const std::vector<std::string>& fieldpaths) {
  return no_throw("update", info.name, [&]() -> Result<Info> {
    STRATA_TRY(check_open());
    Info in = info;
    for (const std::string& label : computed_labels())
      in.labels.erase(label);
    STRATA_TRY_ASSIGN(auto tx, store_.begin(true));
    STRATA_TRY_ASSIGN(auto updated, tx.update_info(in, fieldpaths));
    STRATA_TRY_ASSIGN(auto rec, tx.get_info(updated.name));
    STRATA_TRY(tx.commit());
    return decorate(std::move(updated), rec.id);
  });
}

Result<Usage> DirSnapshotter::usage(const std::string& key) {
  return no_throw("usage of", key, [&]() -> Result<Usage> {
    STRATA_TRY(check_open());
    STRATA_TRY_ASSIGN(auto tx, store_.begin(false));
    STRATA_TRY_ASSIGN(auto rec, tx.get_info(key));
    if (rec.info.kind != Kind::Active)
      return rec.usage;
    STRATA_TRY_ASSIGN(auto snap, tx.get_snapshot(key));
    auto u = measure(snap);
    if (!u)
      return std::move(u).error().wrap("usage of snapshot " + q(key));
    return *u;
  });
}

Result<std::vector<Mount>> DirSnapshotter::mounts(const std::string& key) {
  return no_throw("mounts of", key, [&]() -> Result<std::vector<Mount>> {
    STRATA_TRY(check_open());
    STRATA_TRY_ASSIGN(auto tx, store_.begin(false));
    STRATA_TRY_ASSIGN(auto snap, tx.get_snapshot(key));
    STRATA_TRY_ASSIGN(auto rec, tx.get_info(key));
    return build_mounts(snap, rec.info.labels);
  });
}

Result<std::vector<Mount>> DirSnapshotter::prepare(const std::string& key,
                                                   const std::string& parent,
                                                   const SnapshotOptions& opts) {
  return no_throw("prepare", key, [&] { return create(Kind::Active, key, parent, opts); });
}

Result<std::vector<Mount>> DirSnapshotter::view(const std::string& key, const std::string& parent,
                                                const SnapshotOptions& opts) {
  return no_throw("view", key, [&] { return create(Kind::View, key, parent, opts); });
}

Result<std::vector<Mount>> DirSnapshotter::create(Kind kind, const std::string& key,
                                                  const std::string& parent,
                                                  const SnapshotOptions& opts) {
  STRATA_TRY(check_open());
  STRATA_TRY_ASSIGN(auto tx, store_.begin(true));
  STRATA_TRY_ASSIGN(auto snap, tx.create_snapshot(kind, key, parent, opts.labels));

  // Built under a temporary name and renamed into place, so that snapshots/<id> either is
  // complete or does not exist; whatever exists when this fails is removed.
  const std::string tmp = root_ + "/snapshots/new-" + std::to_string(snap.id);
  const std::string final_path = snapshot_path(snap.id);
  bool done = false;
  struct Undo {
    bool& done;
    const std::string &tmp, &final_path;
    const DirSnapshotter& self;
    ~Undo() {
      if (!done) {
        self.remove_quietly(tmp);
        self.remove_quietly(final_path);
      }
    }
  } undo{done, tmp, final_path, *this};

  // A crash may have left an entry of that name while the id was being handed out.
  remove_quietly(tmp);
  STRATA_TRY(populate(Creating{key, snap, opts.labels, tmp}));
  if (::rename(tmp.c_str(), final_path.c_str()) != 0)
    return fs::sys_error("cannot rename " + tmp + " to " + final_path, errno);
  // The entry must be durable before the record that points at it.
  STRATA_TRY(fs::fsync_dir(root_ + "/snapshots"));
  std::vector<Mount> result = build_mounts(snap, opts.labels);
  STRATA_TRY(tx.commit());
  done = true;
  return result;
}

Status DirSnapshotter::commit(const std::string& name, const std::string& key,
                              const SnapshotOptions& opts) {
  return no_throw("commit", key, [&]() -> Status {
    STRATA_TRY(check_open());
    STRATA_TRY_ASSIGN(auto tx, store_.begin(true));
    // The key first, so a missing key is NotFound even when the name exists.
    STRATA_TRY_ASSIGN(auto rec, tx.get_info(key));
    Usage u;
    if (rec.info.kind == Kind::Active) {
      STRATA_TRY_ASSIGN(auto snap, tx.get_snapshot(key));
      auto measured = measure(snap);
      if (!measured)
        return std::move(measured).error().wrap("commit " + q(key));
      u = *measured;
      if (Status st = seal(rec.id); !st)
        return st.error().wrap("commit " + q(key));
    }
    STRATA_TRY(tx.commit_active(key, name, u, opts.labels, opts.parent));
    return tx.commit();
  });
}

Status DirSnapshotter::remove(const std::string& key) {
  return no_throw("remove", key, [&]() -> Status {
    STRATA_TRY(check_open());
    STRATA_TRY_ASSIGN(auto tx, store_.begin(true));
    STRATA_TRY_ASSIGN(auto removed, tx.remove(key));
    const std::string path = snapshot_path(removed.id);
    const std::string aside = root_ + "/snapshots/rm-" + std::to_string(removed.id);
    // Renamed aside before the record goes: after a crash either the record still exists (and
    // the start-up reconcile renames rm-<id> back) or only an orphan entry is left.
    bool had_entry = ::rename(path.c_str(), aside.c_str()) == 0;
    if (!had_entry && errno != ENOENT)
      return fs::sys_error("remove " + q(key) + ": cannot rename " + path + " to " + aside, errno);
    if (had_entry) {
      if (Status st = fs::fsync_dir(root_ + "/snapshots"); !st) {
        ::rename(aside.c_str(), path.c_str());
        return st;
      }
    } else {
      log_->warn(root_ + ": removing " + q(key) + ", whose entry " + path + " was missing");
    }
    if (Status st = tx.commit(); !st) {
      if (had_entry)
        ::rename(aside.c_str(), path.c_str());
      return st;
    }
    // The record is gone; an entry that cannot be deleted now is an orphan for cleanup().
    if (had_entry)
      remove_quietly(aside);
    if (params_.sync_remove)
      if (Status st = cleanup(); !st)
        log_->warn(root_ + ": cleanup after removing " + q(key) + ": " + st.error().message());
    return {};
  });
}

Status DirSnapshotter::walk(const WalkFn& fn, const std::vector<std::string>& filters) {
  return no_throw("walk", "", [&]() -> Status {
    STRATA_TRY(check_open());
    STRATA_TRY_ASSIGN(auto tx, store_.begin(false));
    const bool computed = !computed_labels().empty();
    return tx.walk(
        [&](const Info& info) -> Status {
          if (!computed)
            return fn(info);
          STRATA_TRY_ASSIGN(auto rec, tx.get_info(info.name));
          return fn(decorate(info, rec.id));
        },
        filters);
  });
}

Status DirSnapshotter::close() {
  closed_.store(true);
  return {};
}

} // namespace strata::snapdir
