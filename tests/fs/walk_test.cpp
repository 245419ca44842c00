// Bounded-fd walks: trees deeper than the fd limit are walked and removed, and fd failures are
// reported as themselves (EMFILE as "Too many open files", never EBADF).
#include "deep_tree.hpp"

#include <strata/fs/root.hpp>
#include <strata/fs/walk.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace strata::fs {
namespace {

namespace stdfs = std::filesystem;
using strata::testing::FdLimit;
using strata::testing::make_deep_tree;
using strata::testing::open_fd_count;

constexpr int kDepth = 1900; // the depth of the hostile layer in issue 16

class WalkTest : public ::testing::Test {
protected:
  void SetUp() override {
    // tmpfs when there is one: removing 1,900 levels takes seconds on ext4, not on tmpfs.
    std::string tmpl =
        std::string(stdfs::is_directory("/dev/shm") ? "/dev/shm" : "/tmp") + "/strata-fs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty())
      (void)remove_all_at(AT_FDCWD, dir_, dir_);
  }
  std::string dir_;
};

TEST_F(WalkTest, RemovesATreeDeeperThanTheFdLimit) {
  ASSERT_TRUE(make_deep_tree(dir_, kDepth)) << strerror(errno);
  ASSERT_TRUE(make_deep_tree(dir_ + "/d", 3, "side")) << "a second branch to climb back from";
  FdLimit limit(256);
  ASSERT_TRUE(limit.ok());
  Status st = remove_all_at(AT_FDCWD, dir_ + "/d", dir_ + "/d");
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_FALSE(stdfs::exists(dir_ + "/d"));
}

TEST_F(WalkTest, KeepsABoundedNumberOfFdsOpen) {
  ASSERT_TRUE(make_deep_tree(dir_, 200));
  ASSERT_TRUE(make_deep_tree(dir_ + "/d/d/d", 5, "e"));
  UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  const int before = open_fd_count();
  int most = 0, entries = 0, left = 0;
  WalkVisitor v;
  v.enter = [&](int fd, const std::string& name, const WalkPath&) -> Result<bool> {
    ++entries;
    most = std::max(most, open_fd_count());
    struct stat st {};
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return sys_error("stat", errno);
    return S_ISDIR(st.st_mode);
  };
  int opened = 0, depth = 0, deepest = 0;
  v.opened = [&](int sub, const std::string& name, const WalkPath& at) -> Status {
    ++opened;
    deepest = std::max(deepest, ++depth);
    struct stat st {};
    if (::fstat(sub, &st) != 0 || !S_ISDIR(st.st_mode))
      return invalid_argument("opened() without the directory's fd");
    if (!at.display("").ends_with("/" + name))
      return invalid_argument("opened() outside " + name + ": " + at.display(""));
    return {};
  };
  v.leave = [&](int, const std::string&, const WalkPath&) -> Status {
    ++left;
    --depth;
    return {};
  };
  Status st = walk_below(fd.get(), dir_, v, 8);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(entries, 200 + 5 + 2) << "every directory and both leaf files";
  EXPECT_EQ(left, 200 + 5) << "leave for each directory entered";
  EXPECT_EQ(opened, left) << "opened and leave pair up";
  EXPECT_EQ(depth, 0);
  EXPECT_EQ(deepest, 200);
  EXPECT_LE(most - before, 8 + 1) << "the window plus the listing's duplicate";
}

TEST_F(WalkTest, ListingUnderEmfileSaysSo) {
  ASSERT_TRUE(::mkdir((dir_ + "/x").c_str(), 0755) == 0);
  ASSERT_TRUE(::mkdir((dir_ + "/x/y").c_str(), 0755) == 0);
  FdLimit limit(64);
  ASSERT_TRUE(limit.ok());
  // Use up every fd but one: the open of x succeeds, the duplicate for listing it fails.
  std::vector<UniqueFd> hog;
  for (;;) {
    UniqueFd f(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!f)
      break;
    hog.push_back(std::move(f));
  }
  ASSERT_EQ(errno, EMFILE);
  hog.pop_back();
  Status st = remove_all_at(AT_FDCWD, dir_ + "/x", dir_ + "/x");
  hog.clear();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("Too many open files"), std::string::npos)
      << st.error().to_string();
  EXPECT_EQ(st.error().message().find("Bad file descriptor"), std::string::npos);
  EXPECT_EQ(st.error().code(), Code::ResourceExhausted);
  Status again = remove_all_at(AT_FDCWD, dir_ + "/x", dir_ + "/x");
  ASSERT_TRUE(again) << again.error().to_string();
}

TEST_F(WalkTest, AMovedDirectoryStopsTheWalk) {
  ASSERT_TRUE(make_deep_tree(dir_, 6));
  ASSERT_TRUE(::mkdir((dir_ + "/elsewhere").c_str(), 0755) == 0);
  UniqueFd fd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int depth = 0;
  WalkVisitor v;
  v.enter = [&](int, const std::string& name, const WalkPath&) -> Result<bool> {
    if (name == "d" && ++depth == 5) // d/d/d/d/d: move d/d (closed, outside the window of 2)
      if (::rename((dir_ + "/d/d").c_str(), (dir_ + "/elsewhere/d").c_str()) != 0)
        return sys_error("rename", errno);
    return name == "d";
  };
  Status st = walk_below(fd.get(), dir_, v, 2);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument) << st.error().to_string();
  EXPECT_NE(st.error().message().find("was moved"), std::string::npos) << st.error().to_string();
}

} // namespace
} // namespace strata::fs
