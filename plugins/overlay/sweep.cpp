// Reconciling snapshots/ with the metadata: at open and on cleanup().
#include "guarded.hpp"
#include "snapshotter.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/root.hpp>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <dirent.h>
#include <fcntl.h>
#include <optional>
#include <set>
#include <string_view>

namespace strata::overlay {
namespace {

using metastore::SnapshotId;

// "123" -> 123; anything else (also "0123", "+1") -> nullopt.
std::optional<SnapshotId> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 18 || s[0] == '0')
    return std::nullopt;
  SnapshotId id = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || p != s.data() + s.size())
    return std::nullopt;
  return id;
}

} // namespace

Status OverlaySnapshotter::sweep(metastore::Transaction& tx, Reconciled* report) {
  auto ids = tx.id_map();
  if (!ids)
    return std::move(ids).error();
  const std::string snapshots = root_ + "/snapshots";
  std::vector<std::string> names;
  {
    DIR* d = ::opendir(snapshots.c_str());
    if (d == nullptr)
      return fs::sys_error("cannot read " + snapshots, errno);
    while (struct dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..")
        names.emplace_back(n);
    }
    ::closedir(d);
  }
  std::set<SnapshotId> present;
  for (const std::string& n : names)
    if (auto id = parse_id(n); id && ids->contains(*id))
      present.insert(*id);
  for (const std::string& n : names) {
    auto id = parse_id(n);
    if (id && ids->contains(*id))
      continue;
    const std::string path = snapshots + "/" + n;
    if (n.starts_with("rm-"))
      if (auto rid = parse_id(std::string_view(n).substr(3));
          rid && ids->contains(*rid) && !present.contains(*rid)) {
        const std::string back = snapshots + "/" + std::to_string(*rid);
        if (::rename(path.c_str(), back.c_str()) != 0)
          return fs::sys_error("cannot rename " + path + " back to " + back, errno);
        present.insert(*rid);
        if (report)
          report->restored.push_back(back);
        continue;
      }
    if (Status st = fs::remove_all_at(AT_FDCWD, path, path); !st)
      return st;
    if (report)
      report->orphans_removed.push_back(path);
  }
  if (report)
    for (const auto& [id, key] : *ids)
      if (!present.contains(id))
        report->missing.push_back(q(key) + " (id " + std::to_string(id) + ", " + snapshot_dir(id) +
                                  ")");
  return {};
}

Status OverlaySnapshotter::cleanup() {
  return no_throw("cleanup", root_, [&]() -> Status {
    if (Status st = check_open(); !st)
      return st;
    // The write lock keeps creations (new-<id>) and removals (rm-<id>) out while we look.
    auto tx = store_.begin(true);
    if (!tx)
      return std::move(tx).error();
    return sweep(*tx, nullptr);
  });
}

} // namespace strata::overlay
