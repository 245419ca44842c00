// disk_usage (strata/fs/usage.hpp) on a real filesystem: allocated blocks, not sizes; each inode
// once however many names it has; the root included; symlinks not followed; a tree deeper than
// the fd limit measured.
#include "deep_tree.hpp"
#include "scratch.hpp"

#include <strata/fs/usage.hpp>

#include <gtest/gtest.h>

namespace strata::fs {
namespace {

using test::allocated;
using test::pattern;
using test::write_at;

class UsageTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(scratch_.path().empty());
    dir_ = scratch_.path() + "/tree";
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
  }
  test::Scratch scratch_{"usage"};
  std::string dir_;
};

TEST_F(UsageTest, CountsAllocatedBlocksOfEachInodeOnce) {
  ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0755), 0);
  write_at(dir_ + "/sub/data", pattern(100000), 0, 100000);
  write_at(dir_ + "/holes", pattern(4096), 1 << 20, 64 << 20); // 64 MiB, 4 KiB allocated
  ASSERT_EQ(::link((dir_ + "/sub/data").c_str(), (dir_ + "/again").c_str()), 0);
  ASSERT_EQ(::symlink("/usr", (dir_ + "/usr").c_str()), 0);
  auto u = disk_usage(dir_);
  ASSERT_TRUE(u) << u.error().to_string();
  struct stat l {};
  ASSERT_EQ(::lstat((dir_ + "/usr").c_str(), &l), 0);
  const std::uint64_t want = allocated(dir_) + allocated(dir_ + "/sub") +
                             allocated(dir_ + "/sub/data") + allocated(dir_ + "/holes") +
                             static_cast<std::uint64_t>(l.st_blocks) * 512;
  EXPECT_EQ(u->inodes, 5) << "root, sub, data (two names), holes, the symlink";
  EXPECT_EQ(static_cast<std::uint64_t>(u->size), want);
  EXPECT_LT(u->size, 1 << 20) << "holes are not usage";
}

TEST_F(UsageTest, MissingOrNotADirectory) {
  auto missing = disk_usage(dir_ + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
  EXPECT_NE(missing.error().message().find(dir_ + "/nope"), std::string::npos);
  write_at(dir_ + "/file", "x", 0, 1);
  auto file = disk_usage(dir_ + "/file");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code(), Code::InvalidArgument);
}

TEST_F(UsageTest, MeasuresATreeDeeperThanTheFdLimit) {
  ASSERT_TRUE(strata::testing::make_deep_tree(dir_, 400));
  strata::testing::FdLimit limit(64);
  ASSERT_TRUE(limit.ok());
  auto u = disk_usage(dir_);
  ASSERT_TRUE(u) << u.error().to_string();
  EXPECT_EQ(u->inodes, 1 + 400 + 1);
}

} // namespace
} // namespace strata::fs
