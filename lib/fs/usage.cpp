// disk_usage (a tree's blocks, each inode once) and extent_usage (one file's extents by FIEMAP).
#include "strata/fs/usage.hpp"

#include "strata/fs/posix.hpp"
#include "strata/fs/walk.hpp"
#include "strata/plugin/try.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <set>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace strata::fs {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

void count(const struct stat& st, std::set<InodeKey>& seen, Usage& u) {
  if (seen.insert({st.st_dev, st.st_ino}).second) {
    u.inodes += 1;
    u.size += static_cast<std::int64_t>(st.st_blocks) * 512;
  }
}

constexpr std::size_t kExtentBatch = 256;

} // namespace

Result<Usage> disk_usage(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd)
    return sys_error("cannot open " + dir, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return sys_error("cannot stat " + dir, errno);
  std::set<InodeKey> seen;
  Usage u;
  count(st, seen, u);
  WalkVisitor v;
  v.enter = [&](int at_fd, const std::string& name, const WalkPath& at) -> Result<bool> {
    struct stat est {};
    if (::fstatat(at_fd, name.c_str(), &est, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT)
        return false;
      return sys_error("cannot stat " + at.display(name), errno);
    }
    count(est, seen, u);
    return S_ISDIR(est.st_mode);
  };
  STRATA_TRY(walk_below(fd.get(), dir, v));
  return u;
}

Result<ExtentUsage> extent_usage(int fd) {
  // One fiemap header followed by room for a batch of extents.
  std::vector<std::uint64_t> buf(
      (sizeof(struct fiemap) + kExtentBatch * sizeof(struct fiemap_extent)) /
          sizeof(std::uint64_t) +
      1);
  auto* fm = reinterpret_cast<struct fiemap*>(buf.data());
  ExtentUsage out;
  std::uint64_t start = 0;
  for (bool sync = true;; sync = false) {
    std::fill(buf.begin(), buf.end(), 0);
    fm->fm_start = start;
    fm->fm_length = FIEMAP_MAX_OFFSET - start;
    // The first call syncs the file, so delayed allocations have their extents.
    fm->fm_flags = sync ? FIEMAP_FLAG_SYNC : 0;
    fm->fm_extent_count = kExtentBatch;
    if (::ioctl(fd, FS_IOC_FIEMAP, fm) != 0) {
      const int err = errno;
      if (err != EOPNOTSUPP && err != ENOTTY)
        return sys_error("cannot read the extent map (FIEMAP)", err);
      struct stat st {};
      if (::fstat(fd, &st) != 0)
        return sys_error("cannot stat the file to measure", errno);
      return ExtentUsage{static_cast<std::uint64_t>(st.st_blocks) * 512, 0};
    }
    if (fm->fm_mapped_extents == 0)
      return out;
    bool last = false;
    for (std::uint32_t i = 0; i < fm->fm_mapped_extents; ++i) {
      const struct fiemap_extent& e = fm->fm_extents[i];
      out.allocated += e.fe_length;
      if (e.fe_flags & FIEMAP_EXTENT_SHARED)
        out.shared += e.fe_length;
      last = last || (e.fe_flags & FIEMAP_EXTENT_LAST) != 0;
      start = e.fe_logical + e.fe_length;
    }
    if (last)
      return out;
  }
}

} // namespace strata::fs
