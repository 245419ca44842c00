// The data and attribute copy (strata/fs/copy.hpp) on a real filesystem: whole files by each
// copy_file method (sparse files: file_copy_test.cpp), owner and mode in the order that keeps
// set-id bits, nanosecond times on files and symlinks, xattrs with skipped names, and refusals
// failing or skipped with a warning.
#include <strata/fs/copy.hpp>
#include <strata/fs/posix.hpp>
#include <strata/fs/root.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <string>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <vector>

namespace strata::fs {
namespace {

namespace stdfs = std::filesystem;

class CopyTest : public ::testing::Test {
protected:
  void SetUp() override {
    // /tmp rather than /dev/shm: tmpfs takes user.* xattrs only on recent kernels.
    std::string tmpl = "/tmp/strata-copy-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    dirfd_ = UniqueFd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(dirfd_);
  }
  void TearDown() override {
    dirfd_.reset();
    if (!dir_.empty())
      (void)remove_all_at(AT_FDCWD, dir_, dir_);
  }

  UniqueFd make_file(const std::string& name, const std::string& data, mode_t mode = 0644) {
    UniqueFd fd(::openat(dirfd_.get(), name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode));
    EXPECT_TRUE(fd) << name;
    EXPECT_EQ(::write(fd.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
    EXPECT_EQ(::lseek(fd.get(), 0, SEEK_SET), 0);
    return fd;
  }

  std::string read_all(const std::string& name) {
    UniqueFd fd(::openat(dirfd_.get(), name.c_str(), O_RDONLY | O_CLOEXEC));
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd.get(), buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }

  // Whether this filesystem keeps user.* xattrs on regular files.
  bool user_xattrs(int fd) {
    if (::fsetxattr(fd, "user.strata-probe", "1", 1, 0) != 0)
      return false;
    ::fremovexattr(fd, "user.strata-probe");
    return true;
  }

  std::string dir_;
  UniqueFd dirfd_;
};

TEST_F(CopyTest, WholeFileByEachMethod) {
  // Larger than the read/write buffer and not a multiple of it, with an all-zero 4 KiB block
  // (skipped by the read/write loop, which must still read back as zeros) and a zero tail.
  std::string data;
  for (int i = 0; data.size() < 300000; ++i)
    data += std::to_string(i) + ",";
  data.replace(8192, 4096, std::string(4096, '\0'));
  data += std::string(5000, '\0');
  UniqueFd in = make_file("in", data);
  for (CopyMethod first : {CopyMethod::Clone, CopyMethod::CopyRange, CopyMethod::ReadWrite}) {
    const std::string name = "out" + std::to_string(static_cast<int>(first));
    UniqueFd out = make_file(name, "");
    FileCopyStats stats;
    ASSERT_TRUE(copy_file(in.get(), out.get(), "in", &stats, first));
    EXPECT_EQ(read_all(name), data) << name;
    if (first == CopyMethod::ReadWrite) {
      EXPECT_EQ(stats.method, CopyMethod::ReadWrite);
      EXPECT_LE(stats.bytes_copied, data.size() - 4096) << "the zero block is not written";
    }
    if (first != CopyMethod::Clone) {
      EXPECT_EQ(stats.bytes_cloned, 0u);
    }
  }

  UniqueFd empty = make_file("empty", "");
  UniqueFd out2 = make_file("out-empty", "");
  ASSERT_TRUE(copy_file(empty.get(), out2.get(), "empty"));
  EXPECT_EQ(read_all("out-empty"), "");
}

TEST_F(CopyTest, FileIntoANonEmptyTargetOrFromANonFileIsRefused) {
  UniqueFd in = make_file("in", "abc");
  UniqueFd full = make_file("full", "old bytes");
  auto st = copy_file(in.get(), full.get(), "in");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("not empty"), std::string::npos) << st.error().message();
  EXPECT_EQ(read_all("full"), "old bytes");
  UniqueFd out = make_file("out", "");
  auto dir = copy_file(dirfd_.get(), out.get(), "the directory");
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().code(), Code::InvalidArgument);
}

TEST_F(CopyTest, FileErrorsNameTheSource) {
  UniqueFd in = make_file("in", "abc");
  make_file("empty", "");
  UniqueFd ro(::openat(dirfd_.get(), "empty", O_RDONLY | O_CLOEXEC));
  // Writing into a descriptor opened read-only fails on every path.
  for (CopyMethod first : {CopyMethod::Clone, CopyMethod::CopyRange, CopyMethod::ReadWrite}) {
    auto st = copy_file(in.get(), ro.get(), "the source", nullptr, first);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("the source"), std::string::npos) << st.error().message();
  }
}

TEST_F(CopyTest, OwnerThenModeKeepsSetIdBitsAndTimes) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "chown to another owner needs root";
  UniqueFd in = make_file("in", "x", 0644);
  ASSERT_EQ(::fchmod(in.get(), 06755), 0); // set-uid and set-gid
  const struct timespec t[2] = {{1000, 123456789}, {2000, 987654321}};
  ASSERT_EQ(::futimens(in.get(), t), 0);
  struct stat st {};
  ASSERT_EQ(::fstat(in.get(), &st), 0);
  st.st_uid = 1234;
  st.st_gid = 5678;
  UniqueFd out = make_file("out", "x", 0600);

  AttrCopy what;
  what.owner = {st.st_uid, st.st_gid};
  ASSERT_TRUE(copy_attrs(Node::open(in.get()), Node::open(out.get()), st, "in", what));
  struct stat got {};
  ASSERT_EQ(::fstat(out.get(), &got), 0);
  EXPECT_EQ(got.st_uid, 1234u);
  EXPECT_EQ(got.st_gid, 5678u);
  // chown clears set-id bits: the mode must come after it.
  EXPECT_EQ(got.st_mode & 07777, 06755u);
  EXPECT_EQ(got.st_mtim.tv_sec, 2000);
  EXPECT_EQ(got.st_mtim.tv_nsec, 987654321);
  EXPECT_EQ(got.st_atim.tv_sec, 1000);
  EXPECT_EQ(got.st_atim.tv_nsec, 123456789);
}

TEST_F(CopyTest, WithoutOwnerModeOrTimesThoseStay) {
  UniqueFd in = make_file("in", "x", 0640);
  const struct timespec t[2] = {{1000, 0}, {2000, 0}};
  ASSERT_EQ(::futimens(in.get(), t), 0);
  struct stat st {};
  ASSERT_EQ(::fstat(in.get(), &st), 0);
  st.st_uid = ::geteuid() + 1; // would fail or change the owner if it were applied
  UniqueFd out = make_file("out", "x", 0600);
  struct stat before {};
  ASSERT_EQ(::fstat(out.get(), &before), 0);

  AttrCopy what;
  what.mode = false;
  what.times = false;
  ASSERT_TRUE(copy_attrs(Node::open(in.get()), Node::open(out.get()), st, "in", what));
  struct stat got {};
  ASSERT_EQ(::fstat(out.get(), &got), 0);
  EXPECT_EQ(got.st_uid, before.st_uid);
  EXPECT_EQ(got.st_mode & 07777, 0600u);
  EXPECT_EQ(got.st_mtim.tv_sec, before.st_mtim.tv_sec);
}

TEST_F(CopyTest, SymlinkByNameNeverFollowed) {
  UniqueFd target = make_file("target", "x", 0600);
  const struct timespec before[2] = {{5, 0}, {6, 0}};
  ASSERT_EQ(::futimens(target.get(), before), 0);
  ASSERT_EQ(::symlinkat("target", dirfd_.get(), "from"), 0);
  ASSERT_EQ(::symlinkat("target", dirfd_.get(), "to"), 0);
  const struct timespec t[2] = {{3000, 5}, {4000, 6}};
  ASSERT_EQ(::utimensat(dirfd_.get(), "from", t, AT_SYMLINK_NOFOLLOW), 0);
  struct stat st {};
  ASSERT_EQ(::fstatat(dirfd_.get(), "from", &st, AT_SYMLINK_NOFOLLOW), 0);

  AttrCopy what; // mode too: a symlink has none, so it must be left alone, not the target's set
  ASSERT_TRUE(
      copy_attrs(Node::at(dirfd_.get(), "from"), Node::at(dirfd_.get(), "to"), st, "from", what));
  struct stat got {};
  ASSERT_EQ(::fstatat(dirfd_.get(), "to", &got, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(got.st_mtim.tv_sec, 4000);
  EXPECT_EQ(got.st_mtim.tv_nsec, 6);
  struct stat tgt {};
  ASSERT_EQ(::fstat(target.get(), &tgt), 0);
  EXPECT_EQ(tgt.st_mtim.tv_sec, 6) << "the symlink's target was touched";
  EXPECT_EQ(tgt.st_mode & 07777, 0600u);
}

TEST_F(CopyTest, XattrsCopiedExceptSkippedPrefixes) {
  UniqueFd in = make_file("in", "x");
  if (!user_xattrs(in.get()))
    GTEST_SKIP() << dir_ << " keeps no user.* xattrs";
  ASSERT_EQ(::fsetxattr(in.get(), "user.keep", "value", 5, 0), 0);
  ASSERT_EQ(::fsetxattr(in.get(), "user.overlay.origin", "o", 1, 0), 0);
  ASSERT_EQ(::fsetxattr(in.get(), "user.empty", "", 0, 0), 0);
  UniqueFd out = make_file("out", "x");

  XattrCopy how;
  how.skip_prefixes = {"user.overlay."};
  ASSERT_TRUE(copy_xattrs(Node::open(in.get()), Node::open(out.get()), "in", how));
  char buf[16] = {};
  EXPECT_EQ(::fgetxattr(out.get(), "user.keep", buf, sizeof buf), 5);
  EXPECT_EQ(std::string(buf, 5), "value");
  EXPECT_EQ(::fgetxattr(out.get(), "user.empty", buf, sizeof buf), 0);
  EXPECT_EQ(::fgetxattr(out.get(), "user.overlay.origin", buf, sizeof buf), -1);
  EXPECT_EQ(errno, ENODATA);

  // Through copy_attrs as well, after the chown.
  UniqueFd out2 = make_file("out2", "x");
  struct stat st {};
  ASSERT_EQ(::fstat(in.get(), &st), 0);
  AttrCopy what;
  what.owner = {st.st_uid, st.st_gid};
  what.xattrs = how;
  ASSERT_TRUE(copy_attrs(Node::open(in.get()), Node::open(out2.get()), st, "in", what));
  EXPECT_EQ(::fgetxattr(out2.get(), "user.keep", buf, sizeof buf), 5);
}

TEST_F(CopyTest, RefusedXattrFailsOrIsSkippedWithAWarning) {
  UniqueFd in = make_file("in", "x");
  if (!user_xattrs(in.get()))
    GTEST_SKIP() << dir_ << " keeps no user.* xattrs";
  ASSERT_EQ(::fsetxattr(in.get(), "user.a", "1", 1, 0), 0);
  // The kernel refuses user.* xattrs on symlinks (EPERM): a target that refuses.
  ASSERT_EQ(::symlinkat("in", dirfd_.get(), "link"), 0);
  const Node to = Node::at(dirfd_.get(), "link");

  XattrCopy how;
  how.refused_hint = "say skip to skip";
  auto st = copy_xattrs(Node::open(in.get()), to, "in", how);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::PermissionDenied);
  EXPECT_NE(st.error().message().find("user.a"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find("(say skip to skip)"), std::string::npos)
      << st.error().message();

  std::vector<std::string> warnings;
  how.skip_refused = true;
  how.warn = [&](std::string_view w) { warnings.emplace_back(w); };
  ASSERT_TRUE(copy_xattrs(Node::open(in.get()), to, "in", how));
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("skipped xattr user.a copying in"), std::string::npos) << warnings[0];
}

TEST_F(CopyTest, NoXattrsIsNoError) {
  UniqueFd in = make_file("in", "x");
  UniqueFd out = make_file("out", "x");
  EXPECT_TRUE(copy_xattrs(Node::open(in.get()), Node::open(out.get()), "in", {}));
}

} // namespace
} // namespace strata::fs
