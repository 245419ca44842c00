#pragma once
// Filesystem image files: what their superblock says, and copying one into a new file.

#include "config.hpp"

#include <strata/plugin/error.hpp>
#include <strata/plugin/mount.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strata::blockfile {

/// How the image `path` holding a filesystem of `type` is mounted: options `options` ("loop"
/// among them), "nouuid" for xfs (every image copied from one scratch has its UUID, and xfs
/// refuses a second mount of a UUID), then "rw" when `writable`, else "ro".
Mount image_mount(const std::string& path, FsType type, const std::vector<std::string>& options,
                  bool writable);

/// The filesystem in the image file `path`, from its superblock magic: ext2/3/4 (0xEF53 at byte
/// 1080) is Ext4, "XFSB" at byte 0 is Xfs; nullopt for anything else (also a file too short to
/// hold either). Errors by errno, naming `path` (NotFound when it does not exist).
Result<std::optional<FsType>> read_fs_type(const std::string& path);

/// Whether a read-only mount of the image `path` may fail for want of journal recovery: for ext4
/// the superblock's RECOVER flag (set while mounted read-write, cleared by a clean unmount); for
/// xfs always true, since only its log says whether it is clean. Errors by errno, naming `path`.
Result<bool> may_need_recovery(const std::string& path, FsType type);

/// a - b, or 0 when b is larger: sizes here never go negative (containerd's views did).
constexpr std::uint64_t saturating_minus(std::uint64_t a, std::uint64_t b) noexcept {
  return a > b ? a - b : 0;
}

/// What a filesystem image's superblock says is in use.
struct FsUse {
  std::uint64_t bytes = 0;  ///< blocks in use (data, metadata, journal) times the block size
  std::uint64_t inodes = 0; ///< inodes in use
};

/// The use of the filesystem of `type` in the image `path`, from its superblock: ext4's block
/// and inode counts minus its free ones, xfs's data blocks minus free blocks and its allocated
/// minus free inodes. The superblock is current once the filesystem was unmounted; while it is
/// mounted it may lag behind. Errors by errno, naming `path`.
Result<FsUse> fs_use(const std::string& path, FsType type);

/// Copies the image `from` to the new file `to` (created with mode 0600, must not exist) by
/// fs::copy_file (a reflink where the filesystem can share extents, else a copy of the data
/// extents only, so holes stay holes) and fsyncs it. A failed copy removes `to` again.
/// Errors by errno, naming the file (AlreadyExists when `to` exists); copy_file's.
Status copy_image(const std::string& from, const std::string& to);

} // namespace strata::blockfile
