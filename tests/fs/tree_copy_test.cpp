// copy_tree (strata/fs/tree_copy.hpp) on real filesystems: a tree holding every kind of entry (a
// hardlink set of 3 names, security.capability and user.* xattrs, devices, a fifo, a socket,
// symlinks pointing out of the tree, set-id files, odd directory modes, a read-only directory
// with content, nanosecond times, owners 1234:5678) is copied exactly — compared entry by entry
// (lstat fields, times to the nanosecond, xattrs) — on /tmp, on an ext4 loop image (copied, not
// cloned) and on a reflink xfs image (every file cloned, extents shared); an owner mapping shifts
// the owners and keeps everything else; a tree deeper than the fd limit copies with its
// hardlinks; a target that is not empty or lies in the source is refused.
#include "deep_tree.hpp"
#include "loop_fs.hpp"
#include "scratch.hpp"
#include "tree_digest.hpp"

#include <strata/fs/tree_copy.hpp>
#include <strata/fs/usage.hpp>

#include <gtest/gtest.h>

#include <linux/capability.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include <regex>

namespace strata::fs {
namespace {

using strata::testing::LoopFs;
using strata::testing::loops_backed_below;
using strata::testing::tree_listing;
using strata::testing::TreeDigestOptions;
using test::allocated;
using test::pattern;
using test::write_at;

constexpr std::uint64_t kMiB = 1 << 20;

// security.capability as setcap writes it: revision 2, effective, cap_net_bind_service permitted.
std::string capability_value() {
  vfs_cap_data v{};
  v.magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE;
  v.data[0].permitted = 1u << CAP_NET_BIND_SERVICE;
  return std::string(reinterpret_cast<const char*>(&v), XATTR_CAPS_SZ_2);
}

// One entry of the test tree, in creation order (parents first).
struct Made {
  std::string rel;
  mode_t mode; // permission bits given last
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// Builds the tree below the existing directory `root` (owned by the test), every entry owned by
// 1234:5678 with distinct nanosecond times, and a directory `outside` next to it that a symlink
// points at.
void build_tree(const std::string& root, const std::string& outside) {
  ASSERT_EQ(::mkdir(outside.c_str(), 0755), 0);
  write_at(outside + "/secret", "not to be copied", 0, 16);
  auto path = [&](const std::string& rel) { return rel.empty() ? root : root + "/" + rel; };
  std::vector<Made> made;
  auto dir = [&](const std::string& rel, mode_t mode,
                 std::vector<std::pair<std::string, std::string>> x = {}) {
    ASSERT_EQ(::mkdir(path(rel).c_str(), 0700), 0) << rel;
    made.push_back({rel, mode, std::move(x)});
  };
  auto file = [&](const std::string& rel, const std::string& data, mode_t mode,
                  std::vector<std::pair<std::string, std::string>> x = {}) {
    write_at(path(rel), data, 0, static_cast<off_t>(data.size()));
    made.push_back({rel, mode, std::move(x)});
  };
  auto node = [&](const std::string& rel, mode_t type, dev_t dev, mode_t mode) {
    ASSERT_EQ(::mknod(path(rel).c_str(), type | 0600, dev), 0) << rel << ": " << strerror(errno);
    made.push_back({rel, mode, {}});
  };
  auto symlink = [&](const std::string& rel, const std::string& target,
                     std::vector<std::pair<std::string, std::string>> x = {}) {
    ASSERT_EQ(::symlink(target.c_str(), path(rel).c_str()), 0) << rel;
    made.push_back({rel, 0, std::move(x)});
  };
  made.push_back({"", 0750, {{"user.root", "r"}}});
  file("file", pattern(100000), 0644, {{"user.test", "hello"}, {"user.empty", ""}});
  dir("dir", 0755, {{"user.dir", "d"}});
  dir("dir/private", 0700);
  dir("dir/private/readonly", 0555);
  file("dir/private/readonly/leaf", "leaf", 0600);
  dir("tmp", 01777);
  ASSERT_EQ(::link(path("file").c_str(), path("dir/link2").c_str()), 0);
  ASSERT_EQ(::link(path("file").c_str(), path("dir/private/link3").c_str()), 0);
  file("ping", pattern(5000, 2), 0755,
       {{"security.capability", capability_value()}, {"user.kind", "cap"}});
  file("suid", "#!/bin/true\n", 04755);
  file("sgid", "", 02711);
  dir("dev", 0755);
  node("dev/null", S_IFCHR, makedev(1, 3), 0666);
  node("dev/block", S_IFBLK, makedev(7, 250), 0660);
  node("fifo", S_IFIFO, 0, 0640);
  symlink("abs", "/etc/passwd");
  symlink("dir/private/up", "../../../outside", {{"trusted.link", "t"}});
  symlink("dir/dotdot", "../..");
  symlink("dangling", "nowhere/at/all");
  write_at(path("sparse"), pattern(4096, 3), 32 * kMiB, 64 * kMiB);
  made.push_back({"sparse", 0640, {}});
  {
    int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(s, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    const std::string p = path("sock");
    ASSERT_LT(p.size(), sizeof a.sun_path);
    std::strcpy(a.sun_path, p.c_str());
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
    ::close(s);
    made.push_back({"sock", 0755, {}});
  }
  // Children before parents: owner (which clears set-id bits and drops security.capability),
  // xattrs, mode, then times, which nothing after moves.
  long i = 0;
  for (auto it = made.rbegin(); it != made.rend(); ++it, ++i) {
    const std::string p = path(it->rel);
    ASSERT_EQ(::lchown(p.c_str(), 1234, 5678), 0) << p;
    for (const auto& [k, v] : it->xattrs)
      ASSERT_EQ(::lsetxattr(p.c_str(), k.c_str(), v.data(), v.size(), 0), 0)
          << p << " " << k << ": " << strerror(errno);
    struct stat st {};
    ASSERT_EQ(::lstat(p.c_str(), &st), 0);
    if (!S_ISLNK(st.st_mode)) {
      ASSERT_EQ(::chmod(p.c_str(), it->mode), 0) << p;
    }
    const struct timespec t[2] = {{1600000000 + i, 123456789 - i}, {1500000000 + i, 987654321 - i}};
    ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << p;
  }
}

TreeDigestOptions exact() {
  TreeDigestOptions o;
  o.exact_times = true;
  o.include_root = true;
  o.exclude_xattrs = {};
  return o;
}

// The listing of `root` as copy_tree must reproduce it: without the socket.
std::string expected_listing(const std::string& root) {
  auto l = tree_listing(root, exact());
  EXPECT_TRUE(l) << l.error().to_string();
  std::string out = l ? *l : "";
  out = std::regex_replace(out, std::regex("(^|\n)sock [^\n]*\n"), "$1");
  EXPECT_NE(out.find("ping "), std::string::npos);
  EXPECT_NE(out.find("xattr:security.capability="), std::string::npos) << out;
  return out;
}

std::string listing(const std::string& root) {
  auto l = tree_listing(root, exact());
  EXPECT_TRUE(l) << l.error().to_string();
  return l ? *l : "";
}

class TreeCopyTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "owners, devices and security.capability need root";
    ASSERT_FALSE(scratch_.path().empty());
    dir_ = scratch_.path();
  }

  // Builds the test tree in `base`/src, copies it to `base`/dst and checks it is exact.
  TreeCopyStats copy_exact(const std::string& base, const TreeCopy& how = {}) {
    const std::string src = base + "/src", dst = base + "/dst";
    EXPECT_EQ(::mkdir(src.c_str(), 0755), 0);
    EXPECT_EQ(::mkdir(dst.c_str(), 0755), 0);
    build_tree(src, base + "/outside");
    const std::string want = expected_listing(src);
    std::vector<std::string> warnings;
    TreeCopy with = how;
    with.warn = [&](std::string_view w) { warnings.emplace_back(w); };
    auto stats = copy_tree(src, dst, with);
    EXPECT_TRUE(stats) << stats.error().to_string();
    EXPECT_EQ(listing(dst), want);
    EXPECT_EQ(warnings.size(), 1u) << "the socket";
    if (!warnings.empty()) {
      EXPECT_NE(warnings[0].find("socket"), std::string::npos) << warnings[0];
    }
    EXPECT_LT(allocated(dst + "/sparse"), kMiB) << "the sparse file turned dense";
    struct stat a {
    }, b{};
    EXPECT_EQ(::stat((dst + "/file").c_str(), &a), 0);
    EXPECT_EQ(::stat((dst + "/dir/private/link3").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino) << "the hardlink set is one inode";
    EXPECT_EQ(a.st_nlink, 3u);
    if (!stats)
      return {};
    EXPECT_EQ(stats->files, 6u); // file (3 names), leaf, ping, suid, sgid, sparse
    EXPECT_EQ(stats->hardlinks, 2u);
    EXPECT_EQ(stats->dirs, 5u); // dir, dir/private, dir/private/readonly, tmp, dev
    EXPECT_EQ(stats->symlinks, 4u);
    EXPECT_EQ(stats->devices, 2u);
    EXPECT_EQ(stats->fifos, 1u);
    EXPECT_EQ(stats->sockets_skipped, 1u);
    return *stats;
  }

  test::Scratch scratch_{"tree-copy"};
  std::string dir_;
};

TEST_F(TreeCopyTest, CopiesEveryKindOfEntryExactly) {
  TreeCopyStats s = copy_exact(dir_);
  EXPECT_GT(s.bytes_copied + s.bytes_cloned, 0u);
  // The symlinks are text, never followed: nothing of `outside` came along.
  char buf[256] = {};
  ASSERT_GT(::readlink((dir_ + "/dst/dir/private/up").c_str(), buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "../../../outside");
  struct stat st {};
  EXPECT_EQ(::lstat((dir_ + "/dst/dir/private/up").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
}

TEST_F(TreeCopyTest, OwnerMappingShiftsOwnersAndKeepsTheRest) {
  const std::string src = dir_ + "/src", dst = dir_ + "/dst";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  build_tree(src, dir_ + "/outside");
  std::string want = expected_listing(src);
  want = std::regex_replace(want, std::regex("owner=1234:5678"), "owner=101234:105678");
  TreeCopy how;
  how.owner = [](uid_t u, gid_t g) { return std::pair<uid_t, gid_t>{u + 100000, g + 100000}; };
  auto stats = copy_tree(src, dst, how);
  ASSERT_TRUE(stats) << stats.error().to_string();
  EXPECT_EQ(listing(dst), want);
  // Set-id bits and the capability survived the chown that would drop them.
  struct stat st {};
  ASSERT_EQ(::stat((dst + "/suid").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_uid, 101234u);
  char cap[64];
  EXPECT_EQ(::getxattr((dst + "/ping").c_str(), "security.capability", cap, sizeof cap),
            static_cast<ssize_t>(XATTR_CAPS_SZ_2));
}

TEST_F(TreeCopyTest, OnExt4ItCopiesAndIsExact) {
  {
    LoopFs ext4(dir_, "ext4", "ext4", 64 * kMiB);
    ASSERT_TRUE(ext4.ok()) << ext4.error();
    EXPECT_EQ(loops_backed_below(dir_).size(), 1u);
    TreeCopyStats s = copy_exact(ext4.path());
    EXPECT_EQ(s.bytes_cloned, 0u) << "ext4 has no reflinks";
    EXPECT_GT(s.bytes_copied, 100000u);
    EXPECT_LT(s.bytes_copied, kMiB) << "holes are not copied";
  }
  EXPECT_EQ(loops_backed_below(dir_), std::vector<std::string>{}) << "a loop device was left";
}

TEST_F(TreeCopyTest, OnReflinkXfsEveryFileIsCloned) {
  {
    LoopFs xfs(dir_, "xfs", "xfs", 300 * kMiB, {"-m", "reflink=1"});
    ASSERT_TRUE(xfs.ok()) << xfs.error();
    EXPECT_EQ(loops_backed_below(dir_).size(), 1u);
    TreeCopyStats s = copy_exact(xfs.path());
    EXPECT_EQ(s.bytes_copied, 0u);
    // file, ping, suid, sgid, leaf and the 64 MiB sparse file, by their sizes.
    EXPECT_EQ(s.bytes_cloned, 100000u + 5000 + 12 + 0 + 4 + 64 * kMiB);
    for (const char* f : {"file", "ping", "sparse"}) {
      UniqueFd fd(::open((xfs.path() + "/dst/" + f).c_str(), O_RDONLY | O_CLOEXEC));
      auto u = extent_usage(fd.get());
      ASSERT_TRUE(u) << u.error().to_string();
      EXPECT_GT(u->allocated, 0u) << f;
      EXPECT_EQ(u->shared, u->allocated) << f;
    }
  }
  EXPECT_EQ(loops_backed_below(dir_), std::vector<std::string>{}) << "a loop device was left";
}

TEST_F(TreeCopyTest, ForcedReadWriteIsExactToo) {
  TreeCopy how;
  how.first_method = CopyMethod::ReadWrite;
  TreeCopyStats s = copy_exact(dir_, how);
  EXPECT_EQ(s.bytes_cloned, 0u);
  EXPECT_LT(s.bytes_copied, kMiB);
}

// The directory `levels` deep below `root` along "d".
UniqueFd open_level(const std::string& root, int levels) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  for (int i = 0; i < levels && fd; ++i)
    fd = UniqueFd(::openat(fd.get(), "d", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  return fd;
}

TEST_F(TreeCopyTest, DeepTreeWithHardlinksUnderALowFdLimit) {
  // tmpfs: 1,900 levels twice are slow to make and remove on ext4.
  std::string base = "/dev/shm/strata-tree-deep-XXXXXX";
  ASSERT_NE(::mkdtemp(base.data()), nullptr);
  struct Remove {
    std::string p;
    ~Remove() { (void)remove_all_at(AT_FDCWD, p, p); }
  } remove{base};
  const std::string src = base + "/src", dst = base + "/dst";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  ASSERT_TRUE(strata::testing::make_deep_tree(src, 1900));
  {
    // A hardlink set with names 1,000 and 1,900 levels down: whichever is copied first, the
    // other is linked to it through a path far longer than PATH_MAX.
    UniqueFd mid = open_level(src, 1000), deep = open_level(src, 1900);
    ASSERT_TRUE(mid && deep);
    ASSERT_EQ(::linkat(deep.get(), "f", mid.get(), "g", 0), 0) << strerror(errno);
  }
  strata::testing::FdLimit limit(256);
  ASSERT_TRUE(limit.ok());
  auto stats = copy_tree(src, dst);
  ASSERT_TRUE(stats) << stats.error().to_string();
  EXPECT_EQ(stats->dirs, 1900u);
  EXPECT_EQ(stats->files, 1u);
  EXPECT_EQ(stats->hardlinks, 1u);
  UniqueFd mid = open_level(dst, 1000), deep = open_level(dst, 1900);
  ASSERT_TRUE(mid && deep);
  struct stat a {
  }, b{};
  ASSERT_EQ(::fstatat(mid.get(), "g", &a, 0), 0);
  ASSERT_EQ(::fstatat(deep.get(), "f", &b, 0), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(b.st_size, 4);
}

TEST_F(TreeCopyTest, RefusesATargetThatIsNotEmptyOrInsideTheSource) {
  const std::string src = dir_ + "/src", dst = dir_ + "/dst";
  ASSERT_EQ(::mkdir(src.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
  write_at(src + "/a", "a", 0, 1);
  write_at(dst + "/stale", "x", 0, 1);
  auto full = copy_tree(src, dst);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), Code::InvalidArgument);
  EXPECT_NE(full.error().message().find("not empty"), std::string::npos)
      << full.error().to_string();

  ASSERT_EQ(::mkdir((src + "/inner").c_str(), 0755), 0);
  auto inside = copy_tree(src, src + "/inner");
  ASSERT_FALSE(inside);
  EXPECT_EQ(inside.error().code(), Code::InvalidArgument);
  EXPECT_NE(inside.error().message().find("inside the source"), std::string::npos)
      << inside.error().to_string();
}

} // namespace
} // namespace strata::fs
