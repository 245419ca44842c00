#pragma once
// `strata snapshots`: paths of the snapshot routes and the human renderings of snapshots.

#include "strata/plugin/mount.hpp"
#include "strata/plugin/snapshot.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::cli {

/// "/v1/snapshotters/<snapshotter>/snapshots", then "/<key>" when `key` is not empty, then
/// "/<suffix>" when `suffix` is not empty; the names percent-encoded as one segment each.
std::string snapshot_path(std::string_view snapshotter, std::string_view key = {},
                          std::string_view suffix = {});

/// TYPE SOURCE TARGET OPTIONS, aligned; "-" for an empty target or no options.
std::string mounts_table(const std::vector<Mount>& mounts);

/// KEY PARENT KIND AGE LABELS, aligned; ages relative to `now`; "-" for no parent.
std::string snapshots_table(const std::vector<Info>& snapshots, Timestamp now);

/// Every field of one snapshot, "Name: ..." one per line, labels indented below "Labels:".
std::string snapshot_details(const Info& info);

/// KEY SIZE INODES, aligned.
std::string usage_table(const std::vector<std::pair<std::string, Usage>>& usages);

/// The parent/child hierarchy, children below their parent in name order, like ctr's tree:
///   base
///    \_ layer
///       \_ container
/// A snapshot whose parent is not in `snapshots` is shown as a root, its parent in brackets.
std::string snapshot_tree(const std::vector<Info>& snapshots);

} // namespace strata::cli
