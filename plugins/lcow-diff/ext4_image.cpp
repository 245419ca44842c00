#include "ext4_image.hpp"

#include <strata/fs/posix.hpp>

#include <et/com_err.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <unistd.h>

namespace strata::lcow {

namespace {

constexpr std::uint32_t inode_size = 256;
// Room for the nanosecond and creation times (the large inode's fields up to i_projid).
constexpr std::uint16_t extra_isize = sizeof(ext2_inode_large) - EXT2_GOOD_OLD_INODE_SIZE;

void put_time(__u32& lo, __u32& extra, const InodeTime& t) {
  lo = static_cast<__u32>(t.sec);
  // ext4's extra field: 2 epoch bits (seconds beyond 32 bits) and 30 bits of nanoseconds.
  const auto epoch = static_cast<__u32>(
      (static_cast<std::uint64_t>(t.sec - static_cast<std::int32_t>(t.sec)) >> 32) &
      EXT4_EPOCH_MASK);
  extra = epoch | (t.nsec << EXT4_EPOCH_BITS);
}

void put_attrs(ext2_inode_large& inode, const InodeAttrs& a) {
  inode.i_mode = static_cast<__u16>((inode.i_mode & LINUX_S_IFMT) | (a.perm & 07777));
  inode.i_uid = static_cast<__u16>(a.uid & 0xffff);
  ext2fs_set_i_uid_high(inode, a.uid >> 16);
  inode.i_gid = static_cast<__u16>(a.gid & 0xffff);
  ext2fs_set_i_gid_high(inode, a.gid >> 16);
  put_time(inode.i_atime, inode.i_atime_extra, a.atime);
  put_time(inode.i_mtime, inode.i_mtime_extra, a.mtime);
  put_time(inode.i_ctime, inode.i_ctime_extra, a.ctime);
  // As compactext4: the creation time is the modification time.
  put_time(inode.i_crtime, inode.i_crtime_extra, a.mtime);
}

int file_type(std::uint32_t type) {
  switch (type) {
  case LINUX_S_IFCHR:
    return EXT2_FT_CHRDEV;
  case LINUX_S_IFBLK:
    return EXT2_FT_BLKDEV;
  case LINUX_S_IFIFO:
    return EXT2_FT_FIFO;
  case LINUX_S_IFLNK:
    return EXT2_FT_SYMLINK;
  default:
    return EXT2_FT_REG_FILE;
  }
}

} // namespace

Status Ext4Image::check(errcode_t rc, const std::string& what) const {
  if (rc == 0)
    return {};
  return internal_error("lcow differ: ext4 image " + path_ + ": " + what + ": " +
                        error_message(rc));
}

Result<std::unique_ptr<Ext4Image>>
Ext4Image::create(const std::string& path, const Geometry& geometry, std::uint64_t max_bytes) {
  // libext2fs' messages (error_message) need its table registered once per process.
  static std::once_flag messages;
  std::call_once(messages, [] { initialize_ext2_error_table(); });
  const std::uint64_t inodes =
      std::max<std::uint64_t>(geometry.inodes + EXT2_GOOD_OLD_FIRST_INO, 64);
  // Slack: allocation is not perfectly dense (extents split at group metadata, directories
  // grow a block at a time); 1/32 of the content and 1 MiB are plenty and keep the image compact.
  const std::uint64_t need = geometry.content_blocks + geometry.content_blocks / 32 + 256;
  std::uint64_t blocks = need + inodes * inode_size / block_size + 64;
  ext2_filsys fs = nullptr;
  for (int attempt = 0;; ++attempt) {
    if (blocks * block_size > max_bytes)
      return invalid_argument("lcow differ: the layer needs an image of at least " +
                              std::to_string(blocks * block_size) +
                              " bytes, over max_image_bytes = " + std::to_string(max_bytes) +
                              "; raise max_image_bytes to convert it");
    if (blocks > 0xffffffffULL)
      return invalid_argument("lcow differ: the layer needs more than 2^32 blocks");
    ext2_super_block param{};
    ext2fs_blocks_count_set(&param, blocks);
    param.s_log_block_size = 2; // 1024 << 2 = 4096
    param.s_inodes_count = static_cast<__u32>(inodes);
    param.s_rev_level = EXT2_DYNAMIC_REV;
    param.s_inode_size = inode_size;
    param.s_min_extra_isize = param.s_want_extra_isize = extra_isize;
    param.s_feature_compat = EXT2_FEATURE_COMPAT_EXT_ATTR;
    param.s_feature_incompat = EXT2_FEATURE_INCOMPAT_FILETYPE | EXT3_FEATURE_INCOMPAT_EXTENTS |
                               EXT4_FEATURE_INCOMPAT_FLEX_BG;
    param.s_feature_ro_compat =
        EXT2_FEATURE_RO_COMPAT_SPARSE_SUPER | EXT2_FEATURE_RO_COMPAT_LARGE_FILE |
        EXT4_FEATURE_RO_COMPAT_HUGE_FILE | EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE;
    param.s_log_groups_per_flex = 4;
    errcode_t rc = ext2fs_initialize(path.c_str(), EXT2_FLAG_RW | EXT2_FLAG_64BITS, &param,
                                     unix_io_manager, &fs);
    if (rc == 0)
      rc = ext2fs_allocate_tables(fs);
    if (rc != 0) {
      if (fs)
        ext2fs_free(fs);
      return internal_error("lcow differ: cannot create an ext4 filesystem of " +
                            std::to_string(blocks) + " blocks in " + path + ": " +
                            error_message(rc));
    }
    if (ext2fs_free_blocks_count(fs->super) >= need || attempt == 8)
      break;
    // The metadata took more than estimated: grow by what is missing.
    blocks += need - ext2fs_free_blocks_count(fs->super) + blocks / 16;
    ext2fs_free(fs);
    fs = nullptr;
  }
  std::unique_ptr<Ext4Image> img(new Ext4Image(fs));
  img->path_ = path;
  // libext2fs reads blocks it has not written (inode tables, directory blocks): the file must
  // have the filesystem's size; unwritten parts stay holes.
  const std::uint64_t size = ext2fs_blocks_count(fs->super) * block_size;
  if (::truncate(path.c_str(), static_cast<off_t>(size)) != 0)
    return fs::sys_error(
        "lcow differ: cannot size " + path + " to " + std::to_string(size) + " bytes", errno);
  // What mke2fs does after laying out the tables: the root, lost+found (e2fsck wants it), the
  // reserved inodes marked used, and the bad-block inode.
  STRATA_TRY(img->check(ext2fs_mkdir(fs, EXT2_ROOT_INO, EXT2_ROOT_INO, nullptr), "root directory"));
  ext2_ino_t lpf = 0;
  STRATA_TRY(img->check(ext2fs_mkdir(fs, EXT2_ROOT_INO, 0, "lost+found"), "lost+found"));
  STRATA_TRY(
      img->check(ext2fs_lookup(fs, EXT2_ROOT_INO, "lost+found", 10, nullptr, &lpf), "lost+found"));
  ext2_inode_large lpf_inode{};
  STRATA_TRY(img->read_inode(lpf, lpf_inode));
  lpf_inode.i_mode = LINUX_S_IFDIR | 0700;
  STRATA_TRY(img->write_inode(lpf, lpf_inode));
  img->lost_found_ = lpf;
  for (ext2_ino_t i = EXT2_ROOT_INO + 1; i < EXT2_FIRST_INODE(fs->super); ++i)
    ext2fs_inode_alloc_stats2(fs, i, +1, 0);
  ext2fs_mark_inode_bitmap2(fs->inode_map, EXT2_BAD_INO);
  ext2fs_inode_alloc_stats2(fs, EXT2_BAD_INO, +1, 0);
  STRATA_TRY(img->check(ext2fs_update_bb_inode(fs, nullptr), "bad-block inode"));
  ext2fs_mark_ib_dirty(fs);
  return img;
}

Ext4Image::~Ext4Image() {
  if (fs_)
    ext2fs_free(fs_);
}

Status Ext4Image::read_inode(ext2_ino_t ino, ext2_inode_large& inode) const {
  return check(
      ext2fs_read_inode_full(fs_, ino, reinterpret_cast<ext2_inode*>(&inode), sizeof(inode)),
      "reading inode " + std::to_string(ino));
}

Status Ext4Image::write_inode(ext2_ino_t ino, ext2_inode_large& inode) const {
  return check(
      ext2fs_write_inode_full(fs_, ino, reinterpret_cast<ext2_inode*>(&inode), sizeof(inode)),
      "writing inode " + std::to_string(ino));
}

namespace {

// A directory is a list of blocks that ext2fs_link fills; a full one gets one more block.
errcode_t link_growing(ext2_filsys fs, ext2_ino_t parent, const std::string& name, ext2_ino_t ino,
                       int type) {
  errcode_t rc = ext2fs_link(fs, parent, name.c_str(), ino, type);
  if (rc == EXT2_ET_DIR_NO_SPACE) {
    rc = ext2fs_expand_dir(fs, parent);
    if (rc == 0)
      rc = ext2fs_link(fs, parent, name.c_str(), ino, type);
  }
  return rc;
}

} // namespace

Result<ext2_ino_t> Ext4Image::make_dir(ext2_ino_t parent, const std::string& name) {
  ext2_ino_t ino = 0;
  STRATA_TRY(check(ext2fs_new_inode(fs_, parent, LINUX_S_IFDIR | 0755, nullptr, &ino),
                   "no free inode for directory " + name));
  // No name: ext2fs_mkdir makes the inode, its block and ".."; the link is ours, so that a full
  // parent grows instead of failing.
  STRATA_TRY(check(ext2fs_mkdir(fs_, parent, ino, nullptr), "directory " + name));
  STRATA_TRY(check(link_growing(fs_, parent, name, ino, EXT2_FT_DIR), "linking directory " + name));
  return ino;
}

Result<ext2_ino_t> Ext4Image::make_node(ext2_ino_t parent, const std::string& name,
                                        std::uint32_t type, const InodeAttrs& attrs,
                                        std::uint32_t major, std::uint32_t minor) {
  ext2_ino_t ino = 0;
  STRATA_TRY(check(ext2fs_new_inode(fs_, parent, static_cast<int>(type), nullptr, &ino),
                   "no free inode for " + name));
  ext2fs_inode_alloc_stats2(fs_, ino, +1, 0);
  // A whole zeroed on-disk inode: a reused number must not keep a freed inode's xattrs.
  std::byte buf[inode_size] = {};
  auto& inode = *reinterpret_cast<ext2_inode_large*>(buf);
  inode.i_mode = static_cast<__u16>(type);
  put_attrs(inode, attrs);
  inode.i_links_count = 1;
  inode.i_extra_isize = extra_isize;
  if (type == LINUX_S_IFCHR || type == LINUX_S_IFBLK) {
    // The new encoding in i_block[1] (what the kernel reads when i_block[0] is 0).
    inode.i_block[1] = (minor & 0xff) | (major << 8) | ((minor & ~0xffU) << 12);
  } else if (type == LINUX_S_IFREG) {
    ext2_extent_handle_t handle = nullptr;
    // Opening an extent tree on an empty inode writes the empty header into it.
    STRATA_TRY(check(ext2fs_extent_open2(fs_, ino, reinterpret_cast<ext2_inode*>(&inode), &handle),
                     "extent header of " + name));
    ext2fs_extent_free(handle);
  }
  STRATA_TRY(
      check(ext2fs_write_inode_full(fs_, ino, reinterpret_cast<ext2_inode*>(buf), inode_size),
            "writing inode of " + name));
  STRATA_TRY(check(link_growing(fs_, parent, name, ino, file_type(type)), "linking " + name));
  return ino;
}

Result<ext2_ino_t> Ext4Image::make_symlink(ext2_ino_t parent, const std::string& name,
                                           const std::string& target, const InodeAttrs& attrs) {
  ext2_ino_t ino = 0;
  STRATA_TRY(check(ext2fs_new_inode(fs_, parent, LINUX_S_IFLNK | 0777, nullptr, &ino),
                   "no free inode for symlink " + name));
  STRATA_TRY(check(ext2fs_symlink(fs_, parent, ino, nullptr, target.c_str()), "symlink " + name));
  STRATA_TRY(check(link_growing(fs_, parent, name, ino, EXT2_FT_SYMLINK), "linking " + name));
  STRATA_TRY(set_attrs(ino, attrs));
  return ino;
}

Status Ext4Image::write(ext2_ino_t ino, std::uint64_t offset, std::span<const std::byte> data) {
  ext2_file_t file = nullptr;
  STRATA_TRY(check(ext2fs_file_open(fs_, ino, EXT2_FILE_WRITE, &file),
                   "opening inode " + std::to_string(ino)));
  Status st;
  std::uint64_t pos = offset;
  std::size_t done = 0;
  while (done < data.size() && st) {
    // One filesystem block at a time, so that all-zero blocks stay holes.
    const std::size_t n = static_cast<std::size_t>(
        std::min<std::uint64_t>(data.size() - done, block_size - pos % block_size));
    auto piece = data.subspan(done, n);
    if (std::any_of(piece.begin(), piece.end(), [](std::byte b) { return b != std::byte{0}; })) {
      st = check(ext2fs_file_llseek(file, pos, EXT2_SEEK_SET, nullptr), "seek");
      unsigned int written = 0;
      if (st)
        st = check(ext2fs_file_write(file, piece.data(), static_cast<unsigned int>(n), &written),
                   "writing data of inode " + std::to_string(ino));
      if (st && written != n)
        st = internal_error("lcow differ: ext4 image " + path_ + ": short write to inode " +
                            std::to_string(ino));
    }
    pos += n;
    done += n;
  }
  Status closed = check(ext2fs_file_close(file), "closing inode " + std::to_string(ino));
  if (!st)
    return st;
  return closed;
}

Status Ext4Image::set_size(ext2_ino_t ino, std::uint64_t size) {
  ext2_file_t file = nullptr;
  STRATA_TRY(check(ext2fs_file_open(fs_, ino, EXT2_FILE_WRITE, &file),
                   "opening inode " + std::to_string(ino)));
  Status st = check(ext2fs_file_set_size2(file, size), "size of inode " + std::to_string(ino));
  Status closed = check(ext2fs_file_close(file), "closing inode " + std::to_string(ino));
  if (!st)
    return st;
  return closed;
}

Status Ext4Image::link(ext2_ino_t parent, const std::string& name, ext2_ino_t ino) {
  ext2_inode_large inode{};
  STRATA_TRY(read_inode(ino, inode));
  STRATA_TRY(check(link_growing(fs_, parent, name, ino, file_type(inode.i_mode & LINUX_S_IFMT)),
                   "hardlink " + name));
  ++inode.i_links_count;
  return write_inode(ino, inode);
}

Status Ext4Image::unlink(ext2_ino_t parent, const std::string& name, ext2_ino_t ino) {
  STRATA_TRY(check(ext2fs_unlink(fs_, parent, name.c_str(), ino, 0), "removing " + name));
  ext2_inode_large inode{};
  STRATA_TRY(read_inode(ino, inode));
  if (inode.i_links_count > 1) {
    --inode.i_links_count;
    return write_inode(ino, inode);
  }
  if (ext2fs_inode_has_valid_blocks2(fs_, reinterpret_cast<ext2_inode*>(&inode)))
    STRATA_TRY(
        check(ext2fs_punch(fs_, ino, reinterpret_cast<ext2_inode*>(&inode), nullptr, 0, ~0ULL),
              "freeing the blocks of " + name));
  STRATA_TRY(check(ext2fs_free_ext_attr(fs_, ino, &inode), "freeing the xattrs of " + name));
  STRATA_TRY(read_inode(ino, inode));
  inode.i_links_count = 0;
  inode.i_dtime = 1; // any non-zero value marks the inode deleted for e2fsck
  STRATA_TRY(write_inode(ino, inode));
  ext2fs_inode_alloc_stats2(fs_, ino, -1, 0);
  return {};
}

Status Ext4Image::set_attrs(ext2_ino_t ino, const InodeAttrs& attrs) {
  ext2_inode_large inode{};
  STRATA_TRY(read_inode(ino, inode));
  put_attrs(inode, attrs);
  return write_inode(ino, inode);
}

Status Ext4Image::set_xattrs(ext2_ino_t ino, const std::map<std::string, std::string>& xattrs) {
  if (xattrs.empty())
    return {};
  ext2_xattr_handle* h = nullptr;
  STRATA_TRY(check(ext2fs_xattrs_open(fs_, ino, &h), "xattrs of inode " + std::to_string(ino)));
  Status st = check(ext2fs_xattrs_read(h), "reading xattrs of inode " + std::to_string(ino));
  for (auto it = xattrs.begin(); st && it != xattrs.end(); ++it) {
    errcode_t rc = ext2fs_xattr_set(h, it->first.c_str(), it->second.data(), it->second.size());
    if (rc == EXT2_ET_EA_NO_SPACE || rc == EXT2_ET_EA_KEY_NOT_FOUND)
      st = invalid_argument("lcow differ: xattr " + it->first + " (" +
                            std::to_string(it->second.size()) +
                            " bytes) does not fit the inode and one xattr block");
    else
      st = check(rc, "xattr " + it->first);
  }
  if (st)
    st = check(ext2fs_xattrs_write(h), "writing xattrs of inode " + std::to_string(ino));
  ext2fs_xattrs_close(&h);
  return st;
}

Result<std::uint64_t> Ext4Image::close() {
  // As compactext4: the kernel mounts it read-only whatever is asked (a layer never changes).
  ext2fs_set_feature_readonly(fs_->super);
  fs_->super->s_state = EXT2_VALID_FS;
  ext2fs_mark_super_dirty(fs_);
  const std::uint64_t size = ext2fs_blocks_count(fs_->super) * block_size;
  errcode_t rc = ext2fs_close_free(&fs_);
  fs_ = nullptr;
  STRATA_TRY(check(rc, "writing the filesystem metadata"));
  return size;
}

} // namespace strata::lcow
