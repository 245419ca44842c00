#pragma once
/// \file
/// Meta: what an initialised plugin tells the host and clients about itself.

#include "strata/plugin/platform.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

/// Capability names a plugin may list in Meta::capabilities. A name is a promise other plugins
/// act on (images unpacks in parallel only onto a snapshotter that advertises `rebase`), so list
/// one only when the plugin keeps all of it.
namespace capability {
/// Snapshotter: commit honours SnapshotOptions::parent. An active snapshot prepared without a
/// parent (its data holding only its own layer) is committed onto the given committed parent,
/// and the committed snapshot then reads as that parent plus its own data; committing onto a
/// parent other than the one the snapshot already has is InvalidArgument, a missing parent
/// NotFound. Without it, a snapshotter may refuse any parent on commit but its own.
inline constexpr char rebase[] = "rebase";
/// Snapshotter: the uid/gid mapping labels of a snapshot are applied at mount time (idmapped
/// mounts), so a container in a user namespace sees its files owned by its own ids.
inline constexpr char remap_ids[] = "remap-ids";
/// Differ: Applier::apply honours ApplyTarget::UpperdirUnknownLowers (overlay whiteouts kept,
/// Code::NeedsParent for entries that need the layers below). The diff service hands that target
/// only to differs that list this, and lists it itself when one of its differs does; images
/// applies layers before their parents (a parallel unpack) only through a diff service that lists
/// it.
inline constexpr char apply_unknown_lowers[] = "apply-unknown-lowers";
} // namespace capability

/// Filled by a plugin's init through InitContext::meta().
struct Meta {
  std::vector<Platform> platforms;            ///< platforms served; empty means "any"
  std::map<std::string, std::string> exports; ///< e.g. {"root": "/var/lib/strata/..."}
  std::vector<std::string> capabilities;      ///< names from strata::capability
  bool operator==(const Meta&) const = default;
};

/// True when `m` lists capability `name` (see strata::capability). Errors: none.
inline bool has_capability(const Meta& m, std::string_view name) {
  return std::find(m.capabilities.begin(), m.capabilities.end(), name) != m.capabilities.end();
}

/// JSON: {"platforms":[...],"exports":{...},"capabilities":[...]}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const Meta& m);
Meta tag_invoke(const json::value_to_tag<Meta>&, const json::value& jv);

} // namespace strata
