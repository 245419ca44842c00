#include "image.hpp"

#include <strata/fs/copy.hpp>
#include <strata/fs/posix.hpp>
#include <strata/plugin/try.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace strata::blockfile {
namespace {

// ext4's superblock starts at byte 1024; offsets below are within it.
constexpr off_t kExtSuperblock = 1024;
constexpr std::size_t kExtMagicAt = 56;           // s_magic, le16
constexpr std::size_t kExtIncompatAt = 0x60;      // s_feature_incompat, le32
constexpr std::uint32_t kExtIncompatRecover = 4;  // EXT3_FEATURE_INCOMPAT_RECOVER
constexpr std::size_t kExtInodesAt = 0;           // s_inodes_count, le32
constexpr std::size_t kExtBlocksAt = 0x4;         // s_blocks_count_lo, le32
constexpr std::size_t kExtFreeBlocksAt = 0xC;     // s_free_blocks_count_lo, le32
constexpr std::size_t kExtFreeInodesAt = 0x10;    // s_free_inodes_count, le32
constexpr std::size_t kExtLogBlockSizeAt = 0x18;  // s_log_block_size, le32: 1024 << it
constexpr std::size_t kExtBlocksHiAt = 0x150;     // s_blocks_count_hi, le32 (0 without 64bit)
constexpr std::size_t kExtFreeBlocksHiAt = 0x158; // s_free_blocks_hi, le32 (0 without 64bit)
// xfs's superblock is big-endian at byte 0.
constexpr std::size_t kXfsBlockSizeAt = 4;  // sb_blocksize, be32
constexpr std::size_t kXfsDblocksAt = 8;    // sb_dblocks, be64: data blocks
constexpr std::size_t kXfsIcountAt = 128;   // sb_icount, be64: inodes allocated
constexpr std::size_t kXfsIfreeAt = 136;    // sb_ifree, be64: of those, free
constexpr std::size_t kXfsFdblocksAt = 144; // sb_fdblocks, be64: free data blocks

// The first 2 KiB of the image: both superblocks' fields of interest lie there.
Result<std::array<unsigned char, 2048>> read_head(const std::string& path) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd)
    return fs::sys_error("cannot open image " + path, errno);
  std::array<unsigned char, 2048> head{};
  std::size_t got = 0;
  while (got < head.size()) {
    ssize_t n = ::pread(fd.get(), head.data() + got, head.size() - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fs::sys_error("cannot read the superblock of image " + path, errno);
    if (n == 0)
      break; // shorter than a superblock: the zeros left make it "neither"
    got += static_cast<std::size_t>(n);
  }
  return head;
}

std::uint32_t le(const unsigned char* p, std::size_t bytes) {
  std::uint32_t v = 0;
  for (std::size_t i = bytes; i-- > 0;)
    v = (v << 8) | p[i];
  return v;
}

std::uint64_t be(const unsigned char* p, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i)
    v = (v << 8) | p[i];
  return v;
}

} // namespace

Mount image_mount(const std::string& path, FsType type, const std::vector<std::string>& options,
                  bool writable) {
  std::vector<std::string> opts = options;
  if (type == FsType::Xfs && std::find(opts.begin(), opts.end(), "nouuid") == opts.end())
    opts.push_back("nouuid");
  opts.push_back(writable ? "rw" : "ro");
  return Mount{std::string(to_string(type)), path, "", std::move(opts)};
}

Result<std::optional<FsType>> read_fs_type(const std::string& path) {
  STRATA_TRY_ASSIGN(auto head, read_head(path));
  if (std::memcmp(head.data(), "XFSB", 4) == 0)
    return std::optional<FsType>(FsType::Xfs);
  if (le(head.data() + kExtSuperblock + kExtMagicAt, 2) == 0xEF53)
    return std::optional<FsType>(FsType::Ext4);
  return std::optional<FsType>();
}

Result<bool> may_need_recovery(const std::string& path, FsType type) {
  if (type == FsType::Xfs)
    return true;
  STRATA_TRY_ASSIGN(auto head, read_head(path));
  return (le(head.data() + kExtSuperblock + kExtIncompatAt, 4) & kExtIncompatRecover) != 0;
}

Result<FsUse> fs_use(const std::string& path, FsType type) {
  STRATA_TRY_ASSIGN(auto head, read_head(path));
  if (type == FsType::Xfs) {
    const unsigned char* sb = head.data();
    return FsUse{saturating_minus(be(sb + kXfsDblocksAt, 8), be(sb + kXfsFdblocksAt, 8)) *
                     be(sb + kXfsBlockSizeAt, 4),
                 saturating_minus(be(sb + kXfsIcountAt, 8), be(sb + kXfsIfreeAt, 8))};
  }
  const unsigned char* sb = head.data() + kExtSuperblock;
  auto u64 = [&](std::size_t lo, std::size_t hi) {
    return (std::uint64_t{le(sb + hi, 4)} << 32) | le(sb + lo, 4);
  };
  const std::uint32_t log_block = le(sb + kExtLogBlockSizeAt, 4);
  const std::uint64_t block = log_block < 22 ? std::uint64_t{1024} << log_block : 0;
  return FsUse{saturating_minus(u64(kExtBlocksAt, kExtBlocksHiAt),
                                u64(kExtFreeBlocksAt, kExtFreeBlocksHiAt)) *
                   block,
               saturating_minus(le(sb + kExtInodesAt, 4), le(sb + kExtFreeInodesAt, 4))};
}

Status copy_image(const std::string& from, const std::string& to) {
  fs::UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in)
    return fs::sys_error("cannot open image " + from, errno);
  fs::UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out)
    return fs::sys_error("cannot create image " + to, errno);
  Status st = fs::copy_file(in.get(), out.get(), from);
  if (st && ::fsync(out.get()) != 0)
    st = fs::sys_error("cannot fsync image " + to, errno);
  if (!st) {
    ::unlink(to.c_str());
    return st.error().wrap("copying " + from + " to " + to);
  }
  return {};
}

} // namespace strata::blockfile
