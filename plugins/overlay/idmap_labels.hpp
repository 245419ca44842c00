#pragma once
// The uid/gid mapping a snapshot's labels request, which decides both how a snapshot is created
// and how its mounts are built.

#include <strata/mount/idmap.hpp>
#include <strata/plugin/error.hpp>
#include <strata/plugin/snapshot.hpp>

#include <optional>
#include <string>
#include <vector>

namespace strata::overlay {

/// A uid/gid mapping request from the snapshot labels.
struct IdmapRequest {
  std::string uidmap, gidmap;
  std::vector<mount::IdMapping> uids, gids;
};

/// The request in `labels` (uidmapping_label and gidmapping_label), nullopt when neither is set.
/// Errors: InvalidArgument naming snapshot `key` when only one is set, a mapping does not parse,
/// or a mapping does not map container id 0.
Result<std::optional<IdmapRequest>> idmap_request(const Labels& labels, const std::string& key);

} // namespace strata::overlay
