// The native snapshotter linked directly, on a real filesystem with real bind mounts: what is a
// copy and what is not, mounts, usage, config, init. The Snapshotter contract itself is the
// conformance suite's (conformance-native-so).
#include "config.hpp"
#include "init.hpp"
#include "snapshotter.hpp"

#include "fake_init_context.hpp"
#include "recording_logger.hpp"
#include "scratch_dir.hpp"
#include "status_assert.hpp"

#include <strata/fs/usage.hpp>
#include <strata/mount/temp.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace strata::native {
namespace {

using strata::testing::read_file;
using strata::testing::Scratch;

struct stat lstat_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

class NativeTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "native snapshotter tests need root (bind mounts, devices, chown)";
    scratch_ = std::make_unique<Scratch>("strata-native-test-");
    root_ = scratch_->path() + "/root";
    open({});
  }
  void TearDown() override {
    snap_.reset();
    scratch_.reset();
  }

  void open(Config config, Reconciled* report = nullptr, std::shared_ptr<Logger> log = nullptr) {
    snap_.reset();
    auto s = NativeSnapshotter::open(root_, config, report, std::move(log));
    ASSERT_TRUE(s) << s.error().to_string();
    snap_ = *s;
  }

  std::string path_of(int id) { return root_ + "/snapshots/" + std::to_string(id); }

  // A committed "base" (snapshot 1) holding a small tree with every kind of entry.
  void commit_base() {
    auto m = snap_->prepare("base-active", "", {});
    STRATA_ASSERT_OK(m);
    const std::string d = path_of(1);
    ASSERT_EQ(std::string(m->front().source), d);
    scratch_->file("root/snapshots/1/etc/hosts", "127.0.0.1 localhost\n");
    ASSERT_EQ(::link((d + "/etc/hosts").c_str(), (d + "/etc/hosts.link").c_str()), 0);
    ASSERT_EQ(::symlink("../../outside", (d + "/escape").c_str()), 0);
    ASSERT_EQ(::mkfifo((d + "/fifo").c_str(), 0640), 0);
    ASSERT_EQ(::mknod((d + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
    ASSERT_EQ(::setxattr((d + "/etc/hosts").c_str(), "user.origin", "base", 4, 0), 0);
    ASSERT_EQ(::chown((d + "/etc").c_str(), 1234, 5678), 0);
    ASSERT_EQ(::chmod((d + "/etc").c_str(), 0710), 0);
    STRATA_ASSERT_OK(snap_->commit("base", "base-active", {}));
  }

  std::unique_ptr<Scratch> scratch_;
  std::string root_;
  std::shared_ptr<NativeSnapshotter> snap_;
};

TEST_F(NativeTest, ParentlessPrepareIsAnEmptyRwBindOfItsOwnDirectory) {
  auto m = snap_->prepare("first", "", {});
  STRATA_ASSERT_OK(m);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ(m->front().type, "bind");
  EXPECT_EQ(m->front().source, path_of(1));
  EXPECT_EQ(m->front().options, (std::vector<std::string>{"rbind", "rw"}));
  EXPECT_EQ(lstat_of(path_of(1)).st_mode & 07777, 0755u);
  EXPECT_TRUE(std::filesystem::is_empty(path_of(1)));
}

TEST_F(NativeTest, ActiveChildIsAFullIndependentCopyOfItsParent) {
  ASSERT_NO_FATAL_FAILURE(commit_base());
  auto m = snap_->prepare("child", "base", {});
  STRATA_ASSERT_OK(m);
  ASSERT_EQ(m->front().source, path_of(2));
  EXPECT_EQ(m->front().options, (std::vector<std::string>{"rbind", "rw"}));
  const std::string p = path_of(1), c = path_of(2);

  EXPECT_EQ(read_file(c + "/etc/hosts"), "127.0.0.1 localhost\n");
  struct stat a = lstat_of(c + "/etc/hosts"), b = lstat_of(c + "/etc/hosts.link");
  EXPECT_EQ(a.st_ino, b.st_ino) << "a hardlink set stays one inode";
  EXPECT_NE(a.st_ino, lstat_of(p + "/etc/hosts").st_ino) << "a copy, not the parent's inode";
  char target[64] = {};
  ASSERT_GT(::readlink((c + "/escape").c_str(), target, sizeof target - 1), 0);
  EXPECT_STREQ(target, "../../outside");
  EXPECT_TRUE(S_ISFIFO(lstat_of(c + "/fifo").st_mode));
  struct stat dev = lstat_of(c + "/null");
  EXPECT_TRUE(S_ISCHR(dev.st_mode));
  EXPECT_EQ(dev.st_rdev, makedev(1, 3));
  char value[16] = {};
  EXPECT_EQ(::getxattr((c + "/etc/hosts").c_str(), "user.origin", value, sizeof value), 4);
  EXPECT_STREQ(value, "base");
  struct stat etc = lstat_of(c + "/etc");
  EXPECT_EQ(etc.st_uid, 1234u);
  EXPECT_EQ(etc.st_gid, 5678u);
  EXPECT_EQ(etc.st_mode & 07777, 0710u);

  // Writing the child leaves the parent alone.
  scratch_->file("root/snapshots/2/etc/hosts", "changed\n");
  EXPECT_EQ(read_file(p + "/etc/hosts"), "127.0.0.1 localhost\n");
}

TEST_F(NativeTest, ViewOfACommittedSnapshotBindsTheParentReadOnlyWithoutACopy) {
  ASSERT_NO_FATAL_FAILURE(commit_base());
  auto m = snap_->view("look", "base", {});
  STRATA_ASSERT_OK(m);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ(m->front().source, path_of(1));
  EXPECT_EQ(m->front().options, (std::vector<std::string>{"rbind", "ro"}));
  EXPECT_TRUE(std::filesystem::is_empty(path_of(2))) << "a view's own entry holds nothing";
  Status st = mount::with_temp_mount(*m, [&](const std::string& at) -> Status {
    EXPECT_EQ(lstat_of(at + "/etc/hosts").st_ino, lstat_of(path_of(1) + "/etc/hosts").st_ino);
    EXPECT_NE(::mkdir((at + "/new").c_str(), 0755), 0);
    EXPECT_EQ(errno, EROFS);
    return {};
  });
  STRATA_EXPECT_OK(st);
  auto u = snap_->usage("look");
  STRATA_ASSERT_OK(u);
  EXPECT_EQ(u->size, 0);
  STRATA_EXPECT_OK(snap_->remove("look"));
  EXPECT_FALSE(std::filesystem::exists(path_of(2)));
  EXPECT_EQ(read_file(path_of(1) + "/etc/hosts"), "127.0.0.1 localhost\n");
}

TEST_F(NativeTest, ViewWithoutParentIsItsOwnReadOnlyDirectory) {
  auto m = snap_->view("empty", "", {});
  STRATA_ASSERT_OK(m);
  EXPECT_EQ(m->front().source, path_of(1));
  EXPECT_EQ(m->front().options, (std::vector<std::string>{"rbind", "ro"}));
}

TEST_F(NativeTest, UsageIsWhatTheTreeAddsToItsParentLiveAndStoredAtCommit) {
  ASSERT_NO_FATAL_FAILURE(commit_base());
  auto m = snap_->prepare("child", "base", {});
  STRATA_ASSERT_OK(m);
  auto copied = snap_->usage("child");
  STRATA_ASSERT_OK(copied);
  EXPECT_EQ(*copied, Usage{}) << "a fresh copy adds nothing to its parent";
  scratch_->file("root/snapshots/2/big", std::string(1 << 20, 'x'));
  auto live = snap_->usage("child");
  STRATA_ASSERT_OK(live);
  auto child_tree = fs::disk_usage(path_of(2));
  auto parent_tree = fs::disk_usage(path_of(1));
  STRATA_ASSERT_OK(child_tree);
  STRATA_ASSERT_OK(parent_tree);
  EXPECT_EQ(live->size, child_tree->size - parent_tree->size);
  EXPECT_EQ(live->inodes, 1);
  EXPECT_GE(live->size, 1 << 20);
  STRATA_ASSERT_OK(snap_->commit("child-done", "child", {}));
  auto stored = snap_->usage("child-done");
  STRATA_ASSERT_OK(stored);
  EXPECT_EQ(*stored, *live);

  // Removing the parent's files in a child never makes its usage negative.
  STRATA_ASSERT_OK(snap_->prepare("shrunk", "base", {}));
  std::filesystem::remove_all(path_of(3) + "/etc");
  auto shrunk = snap_->usage("shrunk");
  STRATA_ASSERT_OK(shrunk);
  EXPECT_EQ(*shrunk, Usage{});
}

TEST_F(NativeTest, RemoveDeletesTheCopyAndOrphansGoAtOpen) {
  ASSERT_NO_FATAL_FAILURE(commit_base());
  STRATA_ASSERT_OK(snap_->prepare("child", "base", {}));
  STRATA_ASSERT_OK(snap_->remove("child"));
  EXPECT_FALSE(std::filesystem::exists(path_of(2)));
  // A crash mid-creation leaves new-<id>; one mid-removal of a committed record leaves rm-<id>.
  scratch_->dir("root/snapshots/new-9/etc");
  ASSERT_EQ(::rename(path_of(1).c_str(), (root_ + "/snapshots/rm-1").c_str()), 0);
  auto log = std::make_shared<strata::testing::RecordingLogger>();
  Reconciled report;
  ASSERT_NO_FATAL_FAILURE(open({}, &report, log));
  EXPECT_EQ(report.orphans_removed, (std::vector<std::string>{root_ + "/snapshots/new-9"}));
  EXPECT_EQ(report.restored, (std::vector<std::string>{path_of(1)}));
  EXPECT_EQ(read_file(path_of(1) + "/etc/hosts"), "127.0.0.1 localhost\n");
}

TEST(NativeConfig, DecodesKeysAndNamesTheBadOne) {
  json::object ok;
  ok["xattr_errors"] = "fail";
  ok["sync_remove"] = true;
  auto c = decode(ok);
  STRATA_ASSERT_OK(c);
  EXPECT_TRUE(c->xattr_errors_fail);
  EXPECT_TRUE(c->sync_remove);

  json::object bad;
  bad["xattr_errors"] = "ignore";
  auto e = decode(bad);
  STRATA_EXPECT_CODE(e, Code::InvalidArgument);
  EXPECT_NE(e.error().message().find("xattr_errors = \"ignore\": must be \"warn\" or \"fail\""),
            std::string::npos)
      << e.error().message();
  json::object unknown;
  unknown["root_path"] = "/x";
  auto u = decode(unknown);
  STRATA_EXPECT_CODE(u, Code::InvalidArgument);
  EXPECT_NE(u.error().message().find("unknown key \"root_path\""), std::string::npos);
}

TEST_F(NativeTest, InitExportsTheRootAndNoRebase) {
  snap_.reset();
  strata::testing::FakeInitContext ic("strata.snapshotter.v1.native", root_ + "-init");
  InitResult r = init(ic);
  ASSERT_TRUE(r.ok()) << (r.failed() ? r.error().to_string() : r.skip_reason());
  EXPECT_EQ(ic.meta().exports.at("root"), root_ + "-init");
  EXPECT_TRUE(ic.meta().capabilities.empty());
  std::filesystem::remove_all(root_ + "-init");
}

} // namespace
} // namespace strata::native
