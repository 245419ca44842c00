// Reconciling snapshots/ with the metadata: at open and on cleanup().
#include "strata/snapdir/snapshotter.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/root.hpp>
#include <strata/fs/walk.hpp>
#include <strata/plugin/try.hpp>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fcntl.h>
#include <optional>
#include <set>
#include <string_view>

namespace strata::snapdir {
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

std::string Reconciled::missing_list() const {
  std::string list;
  for (const std::string& m : missing)
    list += (list.empty() ? "" : "; ") + m;
  return list;
}

Status DirSnapshotter::sweep(metastore::Transaction& tx, Reconciled* report) {
  STRATA_TRY_ASSIGN(auto ids, tx.id_map());
  const std::string snapshots = root_ + "/snapshots";
  fs::UniqueFd dir(::open(snapshots.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir)
    return fs::sys_error("cannot open " + snapshots, errno);
  STRATA_TRY_ASSIGN(auto names, fs::list_dir(dir.get(), snapshots));
  std::set<SnapshotId> present;
  for (const std::string& n : names)
    if (auto id = parse_id(n); id && ids.contains(*id))
      present.insert(*id);
  for (const std::string& n : names) {
    auto id = parse_id(n);
    if (id && ids.contains(*id))
      continue;
    const std::string path = snapshots + "/" + n;
    if (n.starts_with("rm-"))
      if (auto rid = parse_id(std::string_view(n).substr(3));
          rid && ids.contains(*rid) && !present.contains(*rid)) {
        const std::string back = snapshot_path(*rid);
        if (::rename(path.c_str(), back.c_str()) != 0)
          return fs::sys_error("cannot rename " + path + " back to " + back, errno);
        present.insert(*rid);
        if (report)
          report->restored.push_back(back);
        continue;
      }
    STRATA_TRY(fs::remove_all_at(dir.get(), n, path));
    if (report)
      report->orphans_removed.push_back(path);
  }
  if (report)
    for (const auto& [id, key] : ids)
      if (!present.contains(id))
        report->missing.push_back(q(key) + " (id " + std::to_string(id) + ", " + snapshot_path(id) +
                                  ")");
  return {};
}

Status DirSnapshotter::cleanup() {
  return no_throw("cleanup", root_, [&]() -> Status {
    STRATA_TRY(check_open());
    // The write lock keeps creations (new-<id>) and removals (rm-<id>) out while we look.
    STRATA_TRY_ASSIGN(auto tx, store_.begin(true));
    return sweep(tx, nullptr);
  });
}

} // namespace strata::snapdir
