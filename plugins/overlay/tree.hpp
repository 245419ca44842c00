#pragma once
// The ownership-shifting copy behind slow_chown, on lib/fs's tree copy.

#include <strata/mount/idmap.hpp>
#include <strata/plugin/error.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::overlay {

/// The host id that container id `id` maps to; 65534 (overflow id) when unmapped.
std::uint32_t map_id(const std::vector<mount::IdMapping>& mappings, std::uint32_t id);

/// Copies the tree at `src` into the existing empty directory `dst` (whose own owner, mode and
/// times become those of `src`) with fs::copy_tree, shifting every owner through `uids` and
/// `gids`: what an idmapped mount would show, made permanent. Keeps modes (set-id bits
/// included), nanosecond times, xattrs (security.capability after the chown; overlayfs' own
/// trusted.overlay.* and user.overlay.* are never copied; one the target refuses is skipped with
/// a line to `warn`), hard-link groups, symlinks, device nodes and fifos; sockets are skipped
/// (and warned about). Files are reflinked where the filesystem can, holes kept. Never follows
/// symlinks. Errors: fs::copy_tree's, naming the path.
Status copy_shifted(const std::string& src, const std::string& dst,
                    const std::vector<mount::IdMapping>& uids,
                    const std::vector<mount::IdMapping>& gids,
                    std::function<void(std::string_view)> warn);

} // namespace strata::overlay
