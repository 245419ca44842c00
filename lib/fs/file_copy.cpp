// copy_file: FICLONE, else copy_file_range over the data extents, else read/write skipping zero
// blocks; every path leaves the source's holes as holes (see copy.hpp).
#include "strata/fs/copy.hpp"

#include "strata/fs/posix.hpp"
#include "strata/plugin/try.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace strata::fs {
namespace {

constexpr std::size_t kBlock = 4096; // the unit of zero detection (a page, a common fs block)
constexpr std::size_t kBuffer = 32 * kBlock; // read size of the fallback
constexpr std::size_t kRangeChunk = std::size_t(1) << 30;

// FICLONE's answers for "this pair of files cannot share extents" (another filesystem, one
// without reflinks, a kernel without the ioctl), as opposed to a failure of the copy itself.
bool cannot_clone(int err) {
  return err == EOPNOTSUPP || err == ENOTTY || err == EXDEV || err == EINVAL || err == ENOSYS;
}

// copy_file_range's answers for "not between these files": go on with read/write.
bool cannot_copy_range(int err) {
  return err == EXDEV || err == ENOSYS || err == EOPNOTSUPP || err == EINVAL;
}

bool all_zero(const char* p, std::size_t n) {
  return n == 0 || (p[0] == 0 && std::memcmp(p, p + 1, n - 1) == 0);
}

Status pwrite_all(int fd, const char* p, std::size_t n, off_t at, std::string_view shown) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, at);
    if (w < 0 && errno == EINTR)
      continue;
    if (w < 0)
      return sys_error("cannot write the copy of " + std::string(shown), errno);
    p += w;
    n -= static_cast<std::size_t>(w);
    at += w;
  }
  return {};
}

class FileCopy {
public:
  FileCopy(int in, int out, std::string_view shown, FileCopyStats& stats)
      : in_(in), out_(out), shown_(shown), stats_(stats) {}

  Status run(CopyMethod first) {
    struct stat st {};
    if (::fstat(in_, &st) != 0)
      return sys_error("cannot stat " + shown_, errno);
    if (!S_ISREG(st.st_mode))
      return invalid_argument("cannot copy " + shown_ + ": not a regular file");
    struct stat out_st {};
    if (::fstat(out_, &out_st) != 0)
      return sys_error("cannot stat the copy of " + shown_, errno);
    // Holes of the source are never written, so whatever the target held would show through.
    if (out_st.st_size != 0)
      return invalid_argument("cannot copy " + shown_ + " into a file that is not empty (" +
                              std::to_string(out_st.st_size) + " bytes): copy into a new file");
    const off_t size = st.st_size;
    if (first == CopyMethod::Clone) {
      if (::ioctl(out_, FICLONE, in_) == 0) {
        stats_.method = CopyMethod::Clone;
        stats_.bytes_cloned = static_cast<std::uint64_t>(size);
        return {};
      }
      if (!cannot_clone(errno))
        return sys_error("cannot clone " + shown_, errno);
    }
    if (first == CopyMethod::ReadWrite)
      return whole_by_read_write();
    stats_.method = CopyMethod::CopyRange;
    off_t end = size;
    for (off_t pos = 0; pos < end;) {
      const off_t data = ::lseek(in_, pos, SEEK_DATA);
      if (data < 0 && errno == ENXIO)
        break; // no data after pos: the rest is a hole
      if (data < 0 && pos == 0 && (errno == EINVAL || errno == EOPNOTSUPP))
        return whole_by_read_write(); // no SEEK_DATA on this filesystem
      if (data < 0)
        return sys_error("cannot find the data of " + shown_, errno);
      if (data >= end)
        break;
      off_t hole = ::lseek(in_, data, SEEK_HOLE);
      if (hole < 0)
        return sys_error("cannot find the holes of " + shown_, errno);
      hole = std::min(hole, end); // a file growing meanwhile is copied as it was at the stat
      STRATA_TRY_ASSIGN(pos, copy_extent(data, hole));
      if (pos < hole) { // it shrank meanwhile: what is there is copied
        end = pos;
        break;
      }
    }
    return set_size(end);
  }

private:
  // The whole file, to its end as read, by read/write, which still leaves all-zero blocks as holes.
  Status whole_by_read_write() {
    stats_.method = CopyMethod::ReadWrite;
    STRATA_TRY_ASSIGN(const off_t end, read_write(0, -1));
    return set_size(end);
  }

  // The length, with any trailing hole as a hole.
  Status set_size(off_t end) {
    if (::ftruncate(out_, end) != 0)
      return sys_error("cannot set the size of the copy of " + shown_, errno);
    return {};
  }

  // [from, to) of one data extent: copy_file_range while the kernel takes it, read/write after.
  // Returns where the copy stopped (to, or less when the source ended before).
  Result<off_t> copy_extent(off_t from, off_t to) {
    loff_t in_at = from, out_at = from;
    while (ranges_ && in_at < to) {
      const std::size_t len =
          std::min<std::size_t>(static_cast<std::size_t>(to - in_at), kRangeChunk);
      ssize_t n = ::copy_file_range(in_, &in_at, out_, &out_at, len, 0);
      if (n > 0) {
        stats_.bytes_copied += static_cast<std::uint64_t>(n);
        continue;
      }
      if (n == 0)
        return static_cast<off_t>(in_at); // end of the source
      if (errno == EINTR)
        continue;
      if (!cannot_copy_range(errno))
        return sys_error("cannot copy the data of " + shown_, errno);
      // A refused call moved nothing: the fallback goes on from where it stopped.
      ranges_ = false;
      stats_.method = CopyMethod::ReadWrite;
    }
    if (in_at >= to)
      return static_cast<off_t>(in_at);
    return read_write(in_at, to);
  }

  // pread/pwrite of [from, to) (to -1: up to the end of the source), leaving all-zero blocks
  // unwritten: `out` starts empty, so they read back as zeros from holes. Returns where it stopped.
  Result<off_t> read_write(off_t from, off_t to) {
    std::vector<char> buf(kBuffer);
    off_t at = from;
    while (to < 0 || at < to) {
      std::size_t want = buf.size();
      if (to >= 0)
        want = std::min<std::size_t>(want, static_cast<std::size_t>(to - at));
      ssize_t got = ::pread(in_, buf.data(), want, at);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        return sys_error("cannot read " + shown_, errno);
      if (got == 0)
        break;
      // Write each run of blocks holding data in one call; blocks are aligned to the file.
      std::size_t i = 0;
      const std::size_t n = static_cast<std::size_t>(got);
      while (i < n) {
        auto block_end = [&](std::size_t j) {
          const std::size_t aligned = kBlock - static_cast<std::size_t>((at + j) % kBlock);
          return std::min(n, j + aligned);
        };
        std::size_t j = i;
        while (j < n && !all_zero(buf.data() + j, block_end(j) - j))
          j = block_end(j);
        if (j > i) {
          STRATA_TRY(pwrite_all(out_, buf.data() + i, j - i, at + static_cast<off_t>(i), shown_));
          stats_.bytes_copied += j - i;
        }
        while (j < n && all_zero(buf.data() + j, block_end(j) - j))
          j = block_end(j);
        i = j;
      }
      at += got;
    }
    return at;
  }

  int in_;
  int out_;
  std::string shown_;
  FileCopyStats& stats_;
  bool ranges_ = true; // copy_file_range not refused yet
};

} // namespace

Status copy_file(int in, int out, std::string_view shown, FileCopyStats* stats) {
  return copy_file(in, out, shown, stats, CopyMethod::Clone);
}

Status copy_file(int in, int out, std::string_view shown, FileCopyStats* stats, CopyMethod first) {
  FileCopyStats s;
  Status st = FileCopy(in, out, shown, s).run(first);
  if (stats)
    *stats = s;
  return st;
}

} // namespace strata::fs
