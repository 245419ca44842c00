// Bind and plain mounts, targets, rollback, errors, unmounting and TempMount on the real kernel.
#include "scratch.hpp"

#include <strata/mount/mount.hpp>
#include <strata/mount/temp.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/mount.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace {

using strata::Code;
using strata::Mount;
using strata::Status;
using namespace strata::mount;
using namespace strata::mount::testing;

std::string mountinfo_line(const std::string& point) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  std::string found;
  while (std::getline(in, line))
    if (line.find(" " + point + " ") != std::string::npos)
      found = line; // the last one is the top of a stack
  return found;
}

TEST(Bind, ShowsSource) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  s.file("src/hello", "world");
  std::string dst = s.dir("dst");
  ASSERT_TRUE(mount_one({"bind", s.path() + "/src", "", {"rbind", "rw"}}, dst));
  EXPECT_EQ(read_file(dst + "/hello"), "world");
  EXPECT_EQ(create_errno(dst + "/new"), 0);
  ASSERT_TRUE(unmount(dst));
  EXPECT_FALSE(is_mount_point(dst));
}

TEST(Bind, ReadonlyRefusesWrites) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  s.file("src/hello", "world");
  std::string dst = s.dir("dst");
  // "ro" with a plain (non-recursive) bind: the remount path.
  ASSERT_TRUE(mount_one({"bind", s.path() + "/src", "", {"bind", "ro"}}, dst));
  EXPECT_EQ(read_file(dst + "/hello"), "world");
  EXPECT_EQ(create_errno(dst + "/new"), EROFS);
  EXPECT_EQ(create_errno(s.path() + "/src/new"), 0) << "the source stays writable";
  EXPECT_NE(mountinfo_line(dst).find(" ro,"), std::string::npos) << mountinfo_line(dst);
  ASSERT_TRUE(unmount(dst));
}

TEST(Bind, ReadonlyRbindCoversSubmounts) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string sub = s.dir("src/sub");
  ASSERT_EQ(::mount("tmpfs", sub.c_str(), "tmpfs", 0, "size=1m"), 0);
  std::string dst = s.dir("dst");
  ASSERT_TRUE(mount_one({"bind", s.path() + "/src", "", {"rbind", "ro", "nosuid"}}, dst));
  EXPECT_EQ(create_errno(dst + "/x"), EROFS);
  EXPECT_EQ(create_errno(dst + "/sub/x"), EROFS) << "the submount must be read-only as well";
  EXPECT_EQ(create_errno(sub + "/x"), 0);
  EXPECT_TRUE(unmount_all(dst, MNT_DETACH));
}

TEST(Plain, TmpfsWithFlagsAndData) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string dst = s.dir("dst");
  ASSERT_TRUE(mount_one({"tmpfs", "tmpfs", "", {"nosuid", "nodev", "size=1m", "mode=750"}}, dst));
  struct stat st {};
  ASSERT_EQ(::stat(dst.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
  std::string line = mountinfo_line(dst);
  EXPECT_NE(line.find("nosuid"), std::string::npos) << line;
  EXPECT_NE(line.find("nodev"), std::string::npos) << line;
  ASSERT_TRUE(unmount(dst));
}

TEST(Plain, PropagationIsApplied) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string dst = s.dir("dst");
  ASSERT_TRUE(mount_one({"tmpfs", "tmpfs", "", {"size=1m", "shared"}}, dst));
  EXPECT_NE(mountinfo_line(dst).find(" shared:"), std::string::npos) << mountinfo_line(dst);
  ASSERT_TRUE(unmount(dst));
}

TEST(Target, SubPathIsResolvedInsideRoot) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string root = s.dir("root");
  s.dir("root/sub");
  std::string outside = s.dir("outside");
  ASSERT_EQ(::symlink(outside.c_str(), (root + "/escape").c_str()), 0);
  s.file("src/f", "data");

  std::vector<Mount> ms = {{"tmpfs", "tmpfs", "", {"size=1m"}},
                           {"bind", s.path() + "/src", "/sub", {"rbind", "ro"}}};
  // The tmpfs hides root/sub; the second mount needs it inside the tmpfs.
  s.dir("root/sub");
  ASSERT_TRUE(mount_one(ms[0], root));
  ::mkdir((root + "/sub").c_str(), 0755);
  ASSERT_TRUE(mount_one(ms[1], root));
  EXPECT_EQ(read_file(root + "/sub/f"), "data");
  ASSERT_TRUE(unmount_mounts(ms, root));
  EXPECT_FALSE(is_mount_point(root));

  // An absolute symlink resolves as if root were "/": it cannot lead the mount out.
  auto out = mount_one({"bind", s.path() + "/src", "escape", {"rbind"}}, root);
  ASSERT_FALSE(out) << "the symlink to " << outside << " must resolve inside " << root;
  EXPECT_EQ(out.error().code(), Code::NotFound);
  EXPECT_FALSE(is_mount_point(outside));
  ::mkdir((root + "/inner").c_str(), 0755);
  ASSERT_EQ(::unlink((root + "/escape").c_str()), 0);
  ASSERT_EQ(::symlink("/inner", (root + "/escape").c_str()), 0);
  ASSERT_TRUE(mount_one({"bind", s.path() + "/src", "escape", {"rbind"}}, root));
  EXPECT_EQ(read_file(root + "/inner/f"), "data");
  EXPECT_FALSE(is_mount_point(outside));
  EXPECT_TRUE(unmount(root + "/inner"));

  auto missing = mount_one({"bind", s.path() + "/src", "nope", {"rbind"}}, root);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);
}

TEST(MountAll, RollsBackOnFailure) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string dst = s.dir("dst");
  std::vector<Mount> ms = {{"tmpfs", "tmpfs", "", {"size=1m"}}, {"no-such-fs-type", "x", "", {}}};
  auto st = mount_all(ms, dst);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("no-such-fs-type"), std::string::npos);
  EXPECT_NE(st.error().message().find("ENODEV"), std::string::npos) << st.error().message();
  EXPECT_FALSE(is_mount_point(dst)) << "the tmpfs mounted first must be gone again";
}

TEST(Errors, NameEverythingAndRefuseUnknownKinds) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string dst = s.dir("dst");
  auto st = mount_one({"bind", s.path() + "/missing", "", {"rbind"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::NotFound);
  EXPECT_NE(st.error().message().find(s.path() + "/missing"), std::string::npos);
  EXPECT_NE(st.error().message().find(dst), std::string::npos);
  EXPECT_NE(st.error().message().find("ENOENT"), std::string::npos) << st.error().message();

  st = mount_one({"tmpfs", "tmpfs", "", {"X-containerd.mkdir.path=/x"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("X-containerd.mkdir.path"), std::string::npos);

  st = mount_one({"ext4", s.path() + "/img", "", {"loop"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::NotFound) << "a missing image (loop_test.cpp has the rest)";
  EXPECT_NE(st.error().message().find(s.path() + "/img"), std::string::npos);

  st = mount_one({"tmpfs", "tmpfs", "", {"definitely_not_an_option=1"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("definitely_not_an_option=1"), std::string::npos);
  EXPECT_FALSE(is_mount_point(dst));
}

TEST(Unmount, RetriesWhileBusy) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string dst = s.dir("dst");
  ASSERT_TRUE(mount_one({"tmpfs", "tmpfs", "", {"size=1m"}}, dst));
  std::atomic<bool> holding{false};
  std::thread holder([&] {
    int fd = ::open((dst + "/busy").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
    holding = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    ::close(fd);
  });
  while (!holding)
    std::this_thread::yield();
  Status st = unmount(dst); // busy first, then free within the retry budget
  holder.join();
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_FALSE(is_mount_point(dst));
}

TEST(Unmount, DetachDoesNotWait) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string dst = s.dir("dst");
  ASSERT_TRUE(mount_one({"tmpfs", "tmpfs", "", {"size=1m"}}, dst));
  int fd = ::open((dst + "/busy").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(unmount(dst, MNT_DETACH));
  EXPECT_FALSE(is_mount_point(dst));
  ::close(fd);
}

TEST(Unmount, AllTakesDownStacksAndToleratesNothing) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  std::string dst = s.dir("dst");
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(mount_one({"tmpfs", "tmpfs", "", {"size=1m"}}, dst));
  ASSERT_TRUE(unmount_all(dst));
  EXPECT_FALSE(is_mount_point(dst));
  EXPECT_TRUE(unmount(dst)) << "not a mount point is success";
  EXPECT_TRUE(unmount_all(s.path() + "/does-not-exist"));
  EXPECT_TRUE(unmount_all(""));
}

TEST(TempMountTest, MountsAndCleansUp) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  s.file("src/f", "x");
  std::string where;
  {
    auto tm = TempMount::create({{"bind", s.path() + "/src", "", {"rbind", "ro"}}}, s.path());
    ASSERT_TRUE(tm) << tm.error().to_string();
    where = tm->path();
    EXPECT_TRUE(where.starts_with(s.path() + "/"));
    EXPECT_EQ(read_file(where + "/f"), "x");
    struct stat st {};
    ASSERT_EQ(::stat(s.path().c_str(), &st), 0);
    TempMount moved = std::move(*tm);
    EXPECT_EQ(moved.path(), where);
  }
  struct stat st {};
  EXPECT_NE(::lstat(where.c_str(), &st), 0) << "directory must be removed";
  EXPECT_FALSE(is_mount_point(where));
  EXPECT_EQ(read_file(s.path() + "/src/f"), "x") << "the source is untouched";
}

TEST(TempMountTest, CleansUpOnErrorAndException) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  s.file("src/f", "x");
  std::vector<Mount> ms = {{"bind", s.path() + "/src", "", {"rbind"}}};
  std::string seen;
  Status st = with_temp_mount(
      ms,
      [&](const std::string& root) -> Status {
        seen = root;
        if (read_file(root + "/f") == "x")
          return strata::failed_precondition("early return");
        return {};
      },
      s.path());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "early return");
  struct stat sb {};
  EXPECT_NE(::lstat(seen.c_str(), &sb), 0);

  seen.clear();
  EXPECT_THROW((void)with_temp_mount(
                   ms,
                   [&](const std::string& root) -> Status {
                     seen = root;
                     throw std::runtime_error("boom");
                   },
                   s.path()),
               std::runtime_error);
  ASSERT_FALSE(seen.empty());
  EXPECT_NE(::lstat(seen.c_str(), &sb), 0);
  EXPECT_FALSE(is_mount_point(seen));
  EXPECT_EQ(read_file(s.path() + "/src/f"), "x");

  // A failed mount leaves no directory behind.
  auto bad = TempMount::create({{"bind", s.path() + "/missing", "", {"rbind"}}}, s.path());
  ASSERT_FALSE(bad);
  int entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(s.path()))
    entries += e.path().filename().string().starts_with("strata-mount-") ? 1 : 0;
  EXPECT_EQ(entries, 0);
}

TEST(TempMountTest, ReadonlyOverlayView) {
  STRATA_REQUIRE_ROOT();
  Scratch s;
  s.file("lower/a", "lower");
  s.file("upper/b", "upper");
  s.dir("work");
  std::vector<Mount> ms = {{"overlay",
                            "overlay",
                            "",
                            {"workdir=" + s.path() + "/work", "upperdir=" + s.path() + "/upper",
                             "lowerdir=" + s.path() + "/lower", "volatile"}}};
  Status st = with_readonly_temp_mount(
      ms,
      [&](const std::string& root) -> Status {
        EXPECT_EQ(read_file(root + "/a"), "lower");
        EXPECT_EQ(read_file(root + "/b"), "upper");
        EXPECT_EQ(create_errno(root + "/c"), EROFS);
        return {};
      },
      s.path());
  ASSERT_TRUE(st) << st.error().to_string();
}

} // namespace
