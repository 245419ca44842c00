#pragma once
/// \file
/// How much disk a tree or a file takes: a directory tree's allocated blocks with each inode
/// counted once (snapshot usage, like du), and one file's allocated bytes split by whether its
/// extents are shared with another file (a reflinked copy's own cost).

#include <strata/plugin/error.hpp>
#include <strata/plugin/snapshot.hpp>

#include <cstdint>
#include <string>

namespace strata::fs {

/// Disk usage of the tree at `dir`, the directory itself included: each inode (by device and
/// inode number) counted once however many hard links it has, size as allocated blocks
/// (st_blocks * 512) like du and containerd. Symlinks are not followed (`dir` itself must not be
/// one). Entries that vanish while walking are skipped (active snapshots are measured live); the
/// walk keeps a bounded number of fds open at any depth.
/// Errors by errno (sys_error), naming the path: opening `dir` (NotFound when missing,
/// InvalidArgument when not a directory or a symlink), stat, listing.
Result<Usage> disk_usage(const std::string& dir);

/// Allocated bytes of one file, from its extent map.
struct ExtentUsage {
  /// Bytes in the file's extents (holes not counted).
  std::uint64_t allocated = 0;
  /// Of those, bytes in extents flagged FIEMAP_EXTENT_SHARED: shared with another file (a
  /// reflink) or a snapshot. `allocated - shared` is what the file alone costs.
  std::uint64_t shared = 0;
};

/// The extent usage of the open file `fd` by FIEMAP (FS_IOC_FIEMAP with FIEMAP_FLAG_SYNC, so
/// delayed writes are allocated first), reading the extent map in batches. On a filesystem
/// without FIEMAP (EOPNOTSUPP, ENOTTY: tmpfs, for one) it is st_blocks * 512 with shared 0.
/// Errors by errno (sys_error): fstat, FIEMAP.
Result<ExtentUsage> extent_usage(int fd);

} // namespace strata::fs
