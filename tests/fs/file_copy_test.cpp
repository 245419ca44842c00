// copy_file (strata/fs/copy.hpp) and extent_usage (strata/fs/usage.hpp) on real filesystems: a
// 1 GiB sparse file stays sparse by every path, on /tmp (whatever it is) and on an ext4 loop image
// (no reflinks: copy_file_range, and the read/write fallback); on an xfs image made with reflinks
// the copy shares every extent (extent_usage and filefrag's FIEMAP flags agree); an overwrite of
// 64 KiB of a reflinked copy is what extent_usage counts as unshared. No loop device is left.
#include "loop_fs.hpp"
#include "scratch.hpp"

#include <strata/fs/copy.hpp>
#include <strata/fs/usage.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <sys/mount.h>

namespace strata::fs {
namespace {

using strata::testing::LoopFs;
using strata::testing::loops_backed_below;
using strata::testing::run_command;
using test::allocated;
using test::pattern;
using test::same_bytes;
using test::write_at;

constexpr off_t kGiB = off_t(1) << 30;
constexpr off_t kMiB = off_t(1) << 20;
constexpr off_t kDataAt = kGiB / 2 + 3 * 4096; // 4 KiB of data in the middle of 1 GiB of holes

const char* method_name(CopyMethod m) {
  switch (m) {
  case CopyMethod::Clone:
    return "clone";
  case CopyMethod::CopyRange:
    return "copy_file_range";
  case CopyMethod::ReadWrite:
    return "read/write";
  }
  return "?";
}

class FileCopyTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(scratch_.path().empty());
    dir_ = scratch_.path();
  }

  // Copies `from` onto a new file `to` starting at `first`; the stats of the copy.
  FileCopyStats copy(const std::string& from, const std::string& to,
                     CopyMethod first = CopyMethod::Clone) {
    FileCopyStats stats;
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    EXPECT_TRUE(in && out) << from << " -> " << to;
    Status st = copy_file(in.get(), out.get(), from, &stats, first);
    EXPECT_TRUE(st) << st.error().to_string();
    return stats;
  }

  // The sparse source: 1 GiB, 4 KiB of data at kDataAt.
  std::string sparse_source(const std::string& dir) {
    const std::string p = dir + "/sparse";
    write_at(p, pattern(4096), kDataAt, kGiB);
    return p;
  }

  // Every path keeps the 1 GiB file sparse and exact on the filesystem holding `dir`.
  void expect_sparse_copies(const std::string& dir, bool reflinks) {
    const std::string src = sparse_source(dir);
    for (CopyMethod first : {CopyMethod::Clone, CopyMethod::CopyRange, CopyMethod::ReadWrite}) {
      SCOPED_TRACE(std::string("starting at ") + method_name(first));
      const std::string dst = dir + "/copy-" + std::to_string(static_cast<int>(first));
      FileCopyStats stats = copy(src, dst, first);
      EXPECT_LT(allocated(dst), std::uint64_t(kMiB)) << "the copy turned dense";
      EXPECT_TRUE(same_bytes(src, dst));
      if (first == CopyMethod::Clone && reflinks) {
        EXPECT_EQ(stats.method, CopyMethod::Clone);
        EXPECT_EQ(stats.bytes_cloned, std::uint64_t(kGiB));
      } else {
        EXPECT_EQ(stats.method,
                  first == CopyMethod::ReadWrite ? CopyMethod::ReadWrite : CopyMethod::CopyRange);
        EXPECT_EQ(stats.bytes_cloned, 0u);
        EXPECT_GE(stats.bytes_copied, 4096u);
        EXPECT_LE(stats.bytes_copied, 8192u) << "holes were copied as data";
      }
    }
  }

  bool root() const { return ::geteuid() == 0; }

  test::Scratch scratch_{"file-copy"};
  std::string dir_;
};

TEST_F(FileCopyTest, SparseFileStaysSparseOnTmp) {
  expect_sparse_copies(dir_, false);
}

TEST_F(FileCopyTest, SparseFileStaysSparseOnExt4WhichFallsBackFromClone) {
  if (!root())
    GTEST_SKIP() << "loop devices and mounts need root";
  {
    LoopFs ext4(dir_, "ext4", "ext4", 64 * kMiB);
    ASSERT_TRUE(ext4.ok()) << ext4.error();
    EXPECT_EQ(loops_backed_below(dir_).size(), 1u);
    expect_sparse_copies(ext4.path(), false);
    // ext4 has no reflinks: the default path says it copied.
    const std::string small = ext4.path() + "/small";
    write_at(small, pattern(100000), 0, 100000);
    FileCopyStats stats = copy(small, ext4.path() + "/small-copy");
    EXPECT_EQ(stats.method, CopyMethod::CopyRange);
    EXPECT_EQ(stats.bytes_cloned, 0u);
    EXPECT_EQ(stats.bytes_copied, 100000u);
    EXPECT_TRUE(same_bytes(small, ext4.path() + "/small-copy"));
  }
  EXPECT_EQ(loops_backed_below(dir_), std::vector<std::string>{}) << "a loop device was left";
}

// The FIEMAP flags of every extent of `path` as filefrag prints them, one string per extent.
std::vector<std::string> filefrag_flags(const std::string& path) {
  std::string out;
  EXPECT_EQ(run_command({"/usr/sbin/filefrag", "-v", path}, &out), 0);
  std::vector<std::string> flags;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string first;
    words >> first;
    if (first.empty() || first.back() != ':' ||
        first.find_first_not_of("0123456789:") != std::string::npos)
      continue; // a header line, not an extent
    flags.push_back(line.substr(line.rfind(' ') + 1));
  }
  return flags;
}

TEST_F(FileCopyTest, ReflinkOnXfsSharesEveryExtent) {
  if (!root())
    GTEST_SKIP() << "loop devices and mounts need root";
  {
    LoopFs xfs(dir_, "xfs", "xfs", 300 * kMiB, {"-m", "reflink=1"});
    ASSERT_TRUE(xfs.ok()) << xfs.error();
    EXPECT_EQ(loops_backed_below(dir_).size(), 1u);
    const std::string src = xfs.path() + "/data", dst = xfs.path() + "/copy";
    write_at(src, pattern(8 * kMiB), 0, 8 * kMiB);
    FileCopyStats stats = copy(src, dst);
    EXPECT_EQ(stats.method, CopyMethod::Clone);
    EXPECT_EQ(stats.bytes_cloned, std::uint64_t(8 * kMiB));
    EXPECT_EQ(stats.bytes_copied, 0u);
    EXPECT_TRUE(same_bytes(src, dst));
    UniqueFd fd(::open(dst.c_str(), O_RDONLY | O_CLOEXEC));
    auto u = extent_usage(fd.get());
    ASSERT_TRUE(u) << u.error().to_string();
    EXPECT_GE(u->allocated, std::uint64_t(8 * kMiB));
    EXPECT_EQ(u->shared, u->allocated) << "a reflinked copy shares every extent";
    // Cross-check with filefrag's reading of the FIEMAP flags.
    const auto flags = filefrag_flags(dst);
    ASSERT_FALSE(flags.empty());
    for (const auto& f : flags)
      EXPECT_NE(f.find("shared"), std::string::npos) << f;
    // A sparse file clones sparse.
    expect_sparse_copies(xfs.path(), true);
    const std::string sparse_clone = xfs.path() + "/copy-0";
    UniqueFd sfd(::open(sparse_clone.c_str(), O_RDONLY | O_CLOEXEC));
    auto su = extent_usage(sfd.get());
    ASSERT_TRUE(su);
    EXPECT_GT(su->allocated, 0u);
    EXPECT_EQ(su->shared, su->allocated);
  }
  EXPECT_EQ(loops_backed_below(dir_), std::vector<std::string>{}) << "a loop device was left";
}

TEST_F(FileCopyTest, ExtentUsageCountsWhatAnOverwriteUnshared) {
  if (!root())
    GTEST_SKIP() << "loop devices and mounts need root";
  {
    LoopFs xfs(dir_, "xfs", "xfs", 300 * kMiB, {"-m", "reflink=1"});
    ASSERT_TRUE(xfs.ok()) << xfs.error();
    const std::string src = xfs.path() + "/data", dst = xfs.path() + "/copy";
    write_at(src, pattern(8 * kMiB), 0, 8 * kMiB);
    ASSERT_EQ(copy(src, dst).method, CopyMethod::Clone);
    write_at(dst, pattern(64 * 1024, 7), kMiB, 8 * kMiB); // 64 KiB overwritten: copied on write
    for (const std::string& p : {dst, src}) {
      UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
      auto u = extent_usage(fd.get());
      ASSERT_TRUE(u) << u.error().to_string();
      const std::uint64_t own = u->allocated - u->shared;
      EXPECT_GE(own, 64u * 1024) << p << ": allocated " << u->allocated << ", shared " << u->shared;
      EXPECT_LE(own, 128u * 1024) << p << ": allocated " << u->allocated << ", shared "
                                  << u->shared;
    }
  }
  EXPECT_EQ(loops_backed_below(dir_), std::vector<std::string>{}) << "a loop device was left";
}

TEST_F(FileCopyTest, ExtentUsageWithoutFiemapIsAllocatedBlocks) {
  if (!root())
    GTEST_SKIP() << "mounting a tmpfs needs root";
  const std::string mnt = dir_ + "/tmpfs";
  ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=4m"), 0) << std::strerror(errno);
  struct Unmount {
    std::string at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string p = mnt + "/f";
  write_at(p, pattern(8192), 4096, 65536);
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  auto u = extent_usage(fd.get()); // tmpfs has no FIEMAP
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->allocated, allocated(p));
  EXPECT_GE(u->allocated, 8192u);
  EXPECT_EQ(u->shared, 0u);
}

TEST_F(FileCopyTest, ExtentUsageOfASparseFileCountsItsDataOnly) {
  const std::string p = sparse_source(dir_);
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  auto u = extent_usage(fd.get());
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_GE(u->allocated, 4096u);
  EXPECT_LT(u->allocated, std::uint64_t(kMiB));
  EXPECT_EQ(u->shared, 0u);
}

} // namespace
} // namespace strata::fs
