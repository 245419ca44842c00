#include "tree.hpp"

#include <strata/fs/tree_copy.hpp>
#include <strata/plugin/try.hpp>

#include <utility>

namespace strata::overlay {

std::uint32_t map_id(const std::vector<mount::IdMapping>& mappings, std::uint32_t id) {
  for (const auto& m : mappings)
    if (id >= m.container_id && id - m.container_id < m.size)
      return m.host_id + (id - m.container_id);
  return 65534;
}

Status copy_shifted(const std::string& src, const std::string& dst,
                    const std::vector<mount::IdMapping>& uids,
                    const std::vector<mount::IdMapping>& gids,
                    std::function<void(std::string_view)> warn) {
  fs::TreeCopy how;
  how.owner = [&](uid_t uid, gid_t gid) {
    return std::pair<uid_t, gid_t>{map_id(uids, uid), map_id(gids, gid)};
  };
  // The copy is an upperdir-to-be: overlayfs' own xattrs there would describe it, not the source
  // (a merged view hides them anyway).
  how.xattrs.skip_prefixes = {"trusted.overlay.", "user.overlay."};
  how.warn = std::move(warn);
  STRATA_TRY(fs::copy_tree(src, dst, how));
  return {};
}

} // namespace strata::overlay
