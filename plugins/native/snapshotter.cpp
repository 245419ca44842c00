// NativeSnapshotter: what a snapshot's directory holds and how it is mounted.
#include "snapshotter.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/tree_copy.hpp>
#include <strata/fs/usage.hpp>
#include <strata/plugin/try.hpp>

#include <algorithm>
#include <cerrno>
#include <sys/stat.h>

namespace strata::native {
namespace {

using metastore::SnapshotId;
using snapdir::q;

// A view of a committed snapshot mounts the parent itself; every other snapshot its own copy.
bool mounts_parent(const metastore::Snapshot& s) {
  return s.kind == Kind::View && !s.parent_ids.empty();
}

} // namespace

NativeSnapshotter::NativeSnapshotter(std::string root, Config config, metastore::MetaStore store,
                                     std::shared_ptr<Logger> log)
    : DirSnapshotter(std::move(root), snapdir::Params{"native snapshotter", config.sync_remove},
                     std::move(store), std::move(log)),
      config_(config) {}

Result<std::shared_ptr<NativeSnapshotter>> NativeSnapshotter::open(const std::string& root,
                                                                   Config config,
                                                                   Reconciled* report,
                                                                   std::shared_ptr<Logger> log) {
  return guard([&] { return "native snapshotter: open " + q(root); },
               [&]() -> Result<std::shared_ptr<NativeSnapshotter>> {
                 STRATA_TRY_ASSIGN(auto store, open_store(root, "native snapshotter"));
                 std::shared_ptr<NativeSnapshotter> s(
                     new NativeSnapshotter(root, config, std::move(store), std::move(log)));
                 STRATA_TRY(s->reconcile(report));
                 return s;
               });
}

Status NativeSnapshotter::populate(const snapdir::Creating& c) {
  const metastore::Snapshot& s = c.snapshot;
  if (mounts_parent(s))
    return fs::make_new_dir(c.path, 0700);
  STRATA_TRY(fs::make_new_dir(c.path, 0755));
  if (s.parent_ids.empty())
    return {};
  fs::TreeCopy how;
  how.xattrs.skip_refused = !config_.xattr_errors_fail;
  how.xattrs.refused_hint = "set xattr_errors = \"warn\" in "
                            "[plugins.\"strata.snapshotter.v1.native\"] to skip such xattrs";
  how.warn = [&](std::string_view line) {
    log().warn("snapshot " + q(c.key) + ": " + std::string(line));
  };
  const std::string parent = snapshot_path(s.parent_ids.front());
  auto copied = fs::copy_tree(parent, c.path, how);
  if (!copied)
    return std::move(copied).error().wrap("snapshot " + q(c.key) + ": copying parent " + parent);
  return {};
}

std::vector<Mount> NativeSnapshotter::build_mounts(const metastore::Snapshot& s,
                                                   const Labels&) const {
  const SnapshotId source = mounts_parent(s) ? s.parent_ids.front() : s.id;
  return {
      Mount{"bind", snapshot_path(source), "", {"rbind", s.kind == Kind::Active ? "rw" : "ro"}}};
}

Result<Usage> NativeSnapshotter::measure(const metastore::Snapshot& s) const {
  STRATA_TRY_ASSIGN(Usage own, fs::disk_usage(snapshot_path(s.id)));
  if (s.parent_ids.empty())
    return own;
  // The parent is committed, so its tree no longer changes while this is measured.
  STRATA_TRY_ASSIGN(const Usage parent, fs::disk_usage(snapshot_path(s.parent_ids.front())));
  own.size = std::max<std::int64_t>(0, own.size - parent.size);
  own.inodes = std::max<std::int64_t>(0, own.inodes - parent.inodes);
  return own;
}

} // namespace strata::native
