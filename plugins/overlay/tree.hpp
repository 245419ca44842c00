#pragma once
// Whole-tree work on snapshot directories: disk usage, and the ownership-shifting copy behind
// slow_chown.

#include <strata/mount/idmap.hpp>
#include <strata/plugin/error.hpp>
#include <strata/plugin/snapshot.hpp>

#include <string>
#include <vector>

namespace strata::overlay {

/// Disk usage of the tree at `dir`, the directory itself included: each inode (by device and
/// inode number) counted once however many hard links it has, size as allocated blocks
/// (st_blocks * 512) like du and containerd. Symlinks are not followed. Entries that vanish
/// while walking are skipped (active snapshots are measured live). Errors by errno.
Result<Usage> disk_usage(const std::string& dir);

/// The host id that container id `id` maps to; 65534 (overflow id) when unmapped.
std::uint32_t map_id(const std::vector<mount::IdMapping>& mappings, std::uint32_t id);

/// Copies the tree at `src` into the existing empty directory `dst` (whose own owner, mode and
/// times become those of `src`), shifting every owner through `uids` and `gids`: what an
/// idmapped mount would show, made permanent. Keeps modes (set-id bits included), nanosecond
/// times, hard-link groups, symlinks, device nodes, fifos and sockets; xattrs are not copied.
/// Never follows symlinks. Errors by errno, naming the path.
Status copy_shifted(const std::string& src, const std::string& dst,
                    const std::vector<mount::IdMapping>& uids,
                    const std::vector<mount::IdMapping>& gids);

} // namespace strata::overlay
