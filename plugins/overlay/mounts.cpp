// The mounts of a snapshot, and the uid/gid mapping its labels request (idmap_labels.hpp).
#include "idmap_labels.hpp"

#include "snapshotter.hpp"

#include <strata/mount/overlay.hpp>

#include <string_view>
#include <tuple>

namespace strata::overlay {
namespace {

using snapdir::q;

bool has_option(const std::vector<std::string>& opts, std::string_view name) {
  for (const std::string& o : opts)
    if (o == name || (o.size() > name.size() && o.starts_with(name) && o[name.size()] == '='))
      return true;
  return false;
}

} // namespace

Result<std::optional<IdmapRequest>> idmap_request(const Labels& labels, const std::string& key) {
  auto u = labels.find(uidmapping_label);
  auto g = labels.find(gidmapping_label);
  if (u == labels.end() && g == labels.end())
    return std::optional<IdmapRequest>();
  if (u == labels.end() || g == labels.end())
    return invalid_argument("snapshot " + q(key) + ": labels " + uidmapping_label + " and " +
                            gidmapping_label + " must be given together");
  IdmapRequest r{u->second, g->second, {}, {}};
  for (auto [text, out, label] : {std::tuple{&r.uidmap, &r.uids, uidmapping_label},
                                  std::tuple{&r.gidmap, &r.gids, gidmapping_label}}) {
    auto parsed = mount::parse_id_mappings(*text);
    if (!parsed)
      return parsed.error().wrap("snapshot " + q(key) + ": label " + label);
    bool root_mapped = false;
    for (const auto& m : *parsed)
      root_mapped = root_mapped || m.container_id == 0;
    // The snapshot's root directory must belong to somebody inside the container.
    if (!root_mapped)
      return invalid_argument("snapshot " + q(key) + ": label " + label + " = " + q(*text) +
                              " does not map container id 0 (root)");
    *out = std::move(*parsed);
  }
  return std::optional<IdmapRequest>(std::move(r));
}

std::vector<Mount> OverlaySnapshotter::build_mounts(const metastore::Snapshot& s,
                                                    const Labels& labels) const {
  auto req = idmap_request(labels, "");
  bool requested = req.ok() && req->has_value();
  // Without idmapped mounts the mapping was applied by copying at creation (slow_chown).
  bool remap = requested && features_.idmap;
  bool copied = requested && !features_.idmap;
  std::vector<std::string> opts;
  if (remap) {
    opts.push_back("uidmap=" + (*req)->uidmap);
    opts.push_back("gidmap=" + (*req)->gidmap);
  }
  // Overlay cannot mount without a lowerdir; a shifted copy of a view is complete on its own.
  if (s.parent_ids.empty() || (copied && s.kind == Kind::View)) {
    opts.push_back(s.kind == Kind::Active ? "rw" : "ro");
    opts.push_back("rbind");
    return {Mount{"bind", fs_dir(s.id), "", std::move(opts)}};
  }
  // A single read-only layer needs no overlay.
  if (s.kind == Kind::View && s.parent_ids.size() == 1) {
    opts.push_back("ro");
    opts.push_back("rbind");
    return {Mount{"bind", fs_dir(s.parent_ids.front()), "", std::move(opts)}};
  }
  if (s.kind == Kind::Active) {
    opts.push_back("workdir=" + mount::escape_overlay_path(snapshot_path(s.id) + "/work"));
    opts.push_back("upperdir=" + mount::escape_overlay_path(fs_dir(s.id)));
  }
  std::string lower = "lowerdir=";
  for (std::size_t i = 0; i < s.parent_ids.size(); ++i) {
    if (i > 0)
      lower.push_back(':');
    lower += mount::escape_overlay_path(fs_dir(s.parent_ids[i]));
  }
  opts.push_back(std::move(lower));
  opts.insert(opts.end(), config_.mount_options.begin(), config_.mount_options.end());
  if (features_.userxattr && !has_option(config_.mount_options, "userxattr"))
    opts.push_back("userxattr");
  // Without index=off overlay ties an upperdir to one mount at a time (EBUSY on the second);
  // an operator's own index setting wins.
  if (features_.index_option && !has_option(config_.mount_options, "index"))
    opts.push_back("index=off");
  return {Mount{"overlay", "overlay", "", std::move(opts)}};
}

} // namespace strata::overlay
