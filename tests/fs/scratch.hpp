#pragma once
// What the lib/fs copy and usage tests share: a scratch directory under /tmp (whatever filesystem
// that is), removed after the test, and files with holes compared without reading the holes.

#include "scratch_dir.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/root.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace strata::fs::test {

/// A fresh directory /tmp/strata-<what>-XXXXXX, removed (with everything below, mounts first) at
/// destruction.
class Scratch : public strata::testing::Scratch {
public:
  explicit Scratch(const std::string& what)
      : strata::testing::Scratch("strata-" + what + "-", "/tmp") {}
};

/// Writes `data` at `offset` of `path` (created 0644 when missing) and makes it `size` long.
inline void write_at(const std::string& path, const std::string& data, off_t offset, off_t size) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
  ASSERT_TRUE(fd) << path << ": " << std::strerror(errno);
  ASSERT_EQ(::pwrite(fd.get(), data.data(), data.size(), offset),
            static_cast<ssize_t>(data.size()));
  ASSERT_EQ(::ftruncate(fd.get(), size), 0);
  ASSERT_EQ(::fsync(fd.get()), 0);
}

/// `n` bytes that are not all zero anywhere (so no block of them can become a hole).
inline std::string pattern(std::size_t n, unsigned seed = 1) {
  std::string out(n, '\0');
  unsigned x = seed * 2654435761u + 1;
  for (auto& c : out) {
    x = x * 1103515245u + 12345u;
    c = static_cast<char>((x >> 16) | 1);
  }
  return out;
}

/// st_blocks * 512 of `path`.
inline std::uint64_t allocated(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return ~0ull;
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

/// Whether the files at `a` and `b` have the same size and bytes, reading only where either
/// has data (SEEK_DATA), so that a 1 GiB file of holes compares in milliseconds.
inline ::testing::AssertionResult same_bytes(const std::string& a, const std::string& b) {
  UniqueFd fa(::open(a.c_str(), O_RDONLY | O_CLOEXEC)), fb(::open(b.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fa || !fb)
    return ::testing::AssertionFailure() << "cannot open " << a << " or " << b;
  struct stat sa {
  }, sb{};
  ::fstat(fa.get(), &sa);
  ::fstat(fb.get(), &sb);
  if (sa.st_size != sb.st_size)
    return ::testing::AssertionFailure() << "size " << sa.st_size << " != " << sb.st_size;
  std::vector<char> ba(1 << 20), bb(1 << 20);
  for (off_t pos = 0; pos < sa.st_size;) {
    off_t da = ::lseek(fa.get(), pos, SEEK_DATA), db = ::lseek(fb.get(), pos, SEEK_DATA);
    off_t next = std::min(da < 0 ? sa.st_size : da, db < 0 ? sa.st_size : db);
    if (next >= sa.st_size)
      break;
    const std::size_t n =
        static_cast<std::size_t>(std::min<off_t>(static_cast<off_t>(ba.size()), sa.st_size - next));
    if (::pread(fa.get(), ba.data(), n, next) != static_cast<ssize_t>(n) ||
        ::pread(fb.get(), bb.data(), n, next) != static_cast<ssize_t>(n))
      return ::testing::AssertionFailure() << "short read at " << next;
    if (std::memcmp(ba.data(), bb.data(), n) != 0)
      return ::testing::AssertionFailure() << "bytes differ in the MiB at " << next;
    pos = next + static_cast<off_t>(n);
  }
  return ::testing::AssertionSuccess();
}

} // namespace strata::fs::test
