#pragma once
// Ext4Image: an ext4 filesystem image written through libext2fs, without root and without a
// mount: inodes, directory entries, extents and xattrs are placed by libext2fs itself, so the
// result is what e2fsck and the kernel expect. The layout follows hcsshim's compactext4 where it
// matters to an LCOW guest (4 KiB blocks, 256-byte inodes with nanosecond times, extents, no
// journal, the read-only feature) and leaves the rest (allocation order) to libext2fs.

#include <strata/plugin/error.hpp>
#include <strata/plugin/try.hpp>

#include <ext2fs/ext2fs.h>

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>

namespace strata::lcow {

/// Block size of every image (what compactext4 and the LCOW guest use).
inline constexpr std::uint64_t block_size = 4096;

/// How big an image must be: the blocks its content needs beyond the filesystem's own metadata
/// (data, directories, xattr blocks, extent tree blocks) and the inodes it needs.
struct Geometry {
  std::uint64_t content_blocks = 0;
  std::uint64_t inodes = 0;
};

/// A time as stored in an inode: seconds since the epoch and nanoseconds.
struct InodeTime {
  std::int64_t sec = 0;
  std::uint32_t nsec = 0;
};

/// What a tar header says about an entry, as an inode holds it.
struct InodeAttrs {
  /// Permission bits including set-id and sticky (07777); the type comes from the call.
  std::uint32_t perm = 0;
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  InodeTime atime, mtime, ctime;
};

/// An ext4 image being written. Every call names inodes by number; the caller keeps the paths.
class Ext4Image {
public:
  /// Creates the filesystem in `path` (an empty file the caller made), sized to `geometry`
  /// plus slack, with the root directory and lost+found.
  /// Errors: InvalidArgument when it would exceed `max_bytes` (naming both sizes and the config
  /// key); Internal for a libext2fs failure, with its message.
  static Result<std::unique_ptr<Ext4Image>>
  create(const std::string& path, const Geometry& geometry, std::uint64_t max_bytes);
  /// Frees the libext2fs handle; without close() the file holds no valid filesystem.
  ~Ext4Image();
  Ext4Image(const Ext4Image&) = delete;
  Ext4Image& operator=(const Ext4Image&) = delete;

  /// The root directory's inode number.
  static constexpr ext2_ino_t root = EXT2_ROOT_INO;
  /// The inode number of /lost+found, which every image has (e2fsck wants it).
  ext2_ino_t lost_found() const noexcept { return lost_found_; }

  /// A new directory `name` in `parent` (attributes: set_attrs). Errors: Internal.
  Result<ext2_ino_t> make_dir(ext2_ino_t parent, const std::string& name);
  /// A new non-directory inode of type `type` (LINUX_S_IFREG, _IFCHR, _IFBLK, _IFIFO) linked
  /// as `name` in `parent`; `major`/`minor` for devices. Errors: Internal.
  Result<ext2_ino_t> make_node(ext2_ino_t parent, const std::string& name, std::uint32_t type,
                               const InodeAttrs& attrs, std::uint32_t major = 0,
                               std::uint32_t minor = 0);
  /// A new symlink `name` in `parent` to `target` (fast when it fits the inode).
  /// Errors: Internal.
  Result<ext2_ino_t> make_symlink(ext2_ino_t parent, const std::string& name,
                                  const std::string& target, const InodeAttrs& attrs);
  /// Writes `data` at `offset` of regular file `ino`; all-zero blocks stay holes.
  /// Errors: Internal (out of space included: the image was sized too small).
  Status write(ext2_ino_t ino, std::uint64_t offset, std::span<const std::byte> data);
  /// Sets the size of regular file `ino` (after its data). Errors: Internal.
  Status set_size(ext2_ino_t ino, std::uint64_t size);
  /// One more name `name` in `parent` for the non-directory `ino`. Errors: Internal.
  Status link(ext2_ino_t parent, const std::string& name, ext2_ino_t ino);
  /// Removes the name `name` of the non-directory `ino` from `parent`; the inode, its blocks
  /// and xattrs are freed with its last name. Errors: Internal.
  Status unlink(ext2_ino_t parent, const std::string& name, ext2_ino_t ino);
  /// Sets permissions, owner and times of `ino`, keeping its type. Errors: Internal.
  Status set_attrs(ext2_ino_t ino, const InodeAttrs& attrs);
  /// Sets xattrs (full names, e.g. "user.a"), in the inode while they fit, else in a block.
  /// Errors: InvalidArgument when they do not fit (naming the xattr); Internal otherwise.
  Status set_xattrs(ext2_ino_t ino, const std::map<std::string, std::string>& xattrs);
  /// Writes the metadata and closes the filesystem; returns its size in bytes (the file's size
  /// since create()). Errors: Internal.
  Result<std::uint64_t> close();

private:
  explicit Ext4Image(ext2_filsys fs) : fs_(fs) {}
  Status check(errcode_t rc, const std::string& what) const;
  Status read_inode(ext2_ino_t ino, ext2_inode_large& inode) const;
  Status write_inode(ext2_ino_t ino, ext2_inode_large& inode) const;

  ext2_filsys fs_ = nullptr;
  std::string path_;
  ext2_ino_t lost_found_ = 0;
};

} // namespace strata::lcow
