#include "snapshot_format.hpp"

#include "client.hpp"
#include "content_format.hpp"
#include "table.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

namespace strata::cli {

std::string snapshot_path(std::string_view snapshotter, std::string_view key,
                          std::string_view suffix) {
  std::string out = "/v1/snapshotters/" + encode_segment(snapshotter) + "/snapshots";
  if (!key.empty())
    out += "/" + encode_segment(key);
  if (!suffix.empty())
    out += "/" + std::string(suffix);
  return out;
}

std::string mounts_table(const std::vector<Mount>& mounts) {
  Table table({"TYPE", "SOURCE", "TARGET", "OPTIONS"});
  for (const auto& m : mounts)
    table.add_row({m.type, m.source, m.target.empty() ? "-" : m.target,
                   m.options.empty() ? "-" : fmt::format("{}", fmt::join(m.options, ","))});
  return table.render();
}

std::string snapshots_table(const std::vector<Info>& snapshots, Timestamp now) {
  Table table({"KEY", "PARENT", "KIND", "AGE", "LABELS"});
  for (const auto& s : snapshots)
    table.add_row({s.name, s.parent.empty() ? "-" : s.parent, std::string(to_string(s.kind)),
                   human_age(s.created, now), labels_cell(s.labels)});
  return table.render();
}

std::string snapshot_details(const Info& info) {
  std::string out =
      fmt::format("Name:    {}\nKind:    {}\nParent:  {}\nCreated: {}\nUpdated: {}\n", info.name,
                  to_string(info.kind), info.parent.empty() ? "-" : info.parent,
                  format_time(info.created), format_time(info.updated));
  if (info.labels.empty())
    return out + "Labels:  -\n";
  out += "Labels:\n";
  for (const auto& [k, v] : info.labels)
    out += fmt::format("  {}={}\n", k, v);
  return out;
}

std::string usage_table(const std::vector<std::pair<std::string, Usage>>& usages) {
  Table table({"KEY", "SIZE", "INODES"});
  for (const auto& [key, u] : usages)
    table.add_row({key, human_size(u.size), std::to_string(u.inodes)});
  return table.render();
}

std::string snapshot_tree(const std::vector<Info>& snapshots) {
  std::map<std::string, const Info*> by_name;
  for (const auto& s : snapshots)
    by_name[s.name] = &s;
  std::map<std::string, std::vector<const Info*>> children; // std::map: name order
  std::vector<const Info*> roots;
  for (const auto& [name, s] : by_name) {
    if (!s->parent.empty() && by_name.count(s->parent))
      children[s->parent].push_back(s);
    else
      roots.push_back(s);
  }
  std::string out;
  // A well-behaved snapshotter cannot produce a parent cycle (parents exist before their
  // children), but a broken one must not make the CLI loop: each snapshot is printed once.
  std::set<std::string> printed;
  auto print = [&](auto& self, const Info* s, std::size_t depth) -> void {
    if (!printed.insert(s->name).second)
      return;
    std::string line = depth == 0 ? s->name : std::string(3 * depth - 2, ' ') + "\\_ " + s->name;
    if (depth == 0 && !s->parent.empty())
      line += " [" + s->parent + "]";
    out += line + '\n';
    if (auto it = children.find(s->name); it != children.end())
      for (const auto* c : it->second)
        self(self, c, depth + 1);
  };
  for (const auto* r : roots)
    print(print, r, 0);
  for (const auto& [name, s] : by_name) // only members of a parent cycle are left
    print(print, s, 0);
  return out;
}

} // namespace strata::cli
