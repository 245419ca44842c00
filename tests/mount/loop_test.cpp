// Loop mounts on the real kernel: ext4 and xfs images attached with LOOP_CONFIGURE, read-only
// and direct-I/O devices, detaching on unmount and after every failure. Every image's name
// starts with "strata-loop-<pid>-<test>-"; each test, and a global check at the end of the run,
// fails when a loop device backed by one of this process's images is still attached. Loop
// devices of other processes (a parallel test run) are not ours to count; the file name, not
// its directory, identifies ours because the kernel shows a file reached through a mount that
// was detached meanwhile by its path inside that mount.
#include "fs_image.hpp"
#include "scratch.hpp"

#include <strata/mount/loop.hpp>
#include <strata/mount/mount.hpp>
#include <strata/mount/temp.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <linux/loop.h>
#include <optional>
#include <set>
#include <sys/ioctl.h>
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
using strata::testing::kSmallExt4Image;
using strata::testing::kSmallXfsImage;

// The directory holding every image of this process (made on first use).
const std::string& images_root() {
  static const std::string root = [] {
    char tmpl[] = "/tmp/strata-loop-test-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      std::abort();
    return std::string(tmpl);
  }();
  return root;
}

// The start of every image name of this process.
const std::string& process_tag() {
  static const std::string tag = "strata-loop-" + std::to_string(::getpid()) + "-";
  return tag;
}

// Attached loop devices whose backing file's name starts with `tag`.
std::vector<LoopInfo> loops_tagged(const std::string& tag) {
  std::vector<LoopInfo> out;
  auto all = attached_loops();
  EXPECT_TRUE(all) << all.error().to_string();
  if (!all)
    return out;
  for (auto& l : *all)
    if (l.backing_file.find("/" + tag) != std::string::npos)
      out.push_back(std::move(l));
  return out;
}

// The kernel detaches an autoclear device when its last user goes; a device opened meanwhile by
// someone else (udev probing it) goes a little later. Wait up to 5 s for none tagged `tag`.
std::vector<LoopInfo> wait_detached(const std::string& tag) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto left = loops_tagged(tag);
    if (left.empty() || std::chrono::steady_clock::now() > deadline)
      return left;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void force_detach(const std::vector<LoopInfo>& loops) {
  for (const auto& l : loops) {
    int fd = ::open(l.device.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ::ioctl(fd, LOOP_CLR_FD);
      ::close(fd);
    }
  }
}

// Fails the run when this process left a loop device attached, and detaches it.
class NoLeakedLoops : public ::testing::Environment {
public:
  void TearDown() override {
    if (::geteuid() != 0)
      return;
    auto left = wait_detached(process_tag());
    for (const auto& l : left)
      ADD_FAILURE() << "leaked loop device " << l.device << " on " << l.backing_file;
    force_detach(left);
    std::filesystem::remove_all(images_root());
  }
};

[[maybe_unused]] ::testing::Environment* const kLeakCheck =
    ::testing::AddGlobalTestEnvironment(new NoLeakedLoops);

std::string sys_value(const std::string& device, const std::string& attr) {
  std::string name = std::filesystem::path(device).filename();
  std::string v = read_file("/sys/block/" + name + "/" + attr);
  while (!v.empty() && v.back() == '\n')
    v.pop_back();
  return v;
}

// Declares `var`, a formatted image `name` in the test's directory.
#define STRATA_IMAGE(var, name, type, size)                                                        \
  std::string var = image_path(name);                                                              \
  STRATA_MAKE_FS_IMAGE(var, type, size)

// A test with its own image directory (below images_root()) and mount scratch; at the end no
// loop device may be left on its images.
class Loop : public ::testing::Test {
protected:
  void SetUp() override {
    STRATA_REQUIRE_LOOP_DEVICES();
    std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = images_root() + "/" + test;
    std::filesystem::create_directories(dir_);
    dir_ = std::filesystem::canonical(dir_);
    tag_ = process_tag() + test + "-";
  }

  // Where an image called `name` goes: its file name carries this test's tag.
  std::string image_path(const std::string& name) const { return dir_ + "/" + tag_ + name; }

  // Attached loop devices on this test's images.
  std::vector<LoopInfo> loops() const { return loops_tagged(tag_); }

  void TearDown() override {
    if (dir_.empty())
      return;
    unmount_below(scratch_.path());
    auto left = wait_detached(tag_);
    for (const auto& l : left)
      ADD_FAILURE() << "loop device " << l.device << " still attached to " << l.backing_file;
    force_detach(left);
  }

  // The one loop device attached to `img`; "" (and a failure) when there is not exactly one.
  std::string device_of(const std::string& img) {
    std::vector<LoopInfo> on;
    for (auto& l : loops())
      if (l.backing_file == img)
        on.push_back(l);
    EXPECT_EQ(on.size(), 1u) << img;
    return on.size() == 1 ? on.front().device : std::string();
  }

  std::string dir_;
  std::string tag_;
  Scratch scratch_;
};

TEST_F(Loop, Ext4ImageKeepsDataAcrossMountsAndDetachesOnUnmount) {
  STRATA_IMAGE(img, "ext4.img", "ext4", kSmallExt4Image);
  std::string dst = scratch_.dir("dst");
  Status st = mount_one({"ext4", img, "", {"loop"}}, dst);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_TRUE(is_mount_point(dst));
  std::string dev = device_of(img);
  ASSERT_FALSE(dev.empty());
  EXPECT_EQ(sys_value(dev, "loop/autoclear"), "1");
  EXPECT_EQ(sys_value(dev, "ro"), "0");
  EXPECT_EQ(sys_value(dev, "loop/dio"), "0");
  auto attached = loops();
  ASSERT_EQ(attached.size(), 1u);
  EXPECT_TRUE(attached[0].autoclear);
  EXPECT_FALSE(attached[0].readonly);
  scratch_.file("dst/hello", "through the loop");
  ASSERT_TRUE(unmount(dst));
  EXPECT_FALSE(is_mount_point(dst));
  EXPECT_TRUE(wait_detached(tag_).empty()) << "unmount must detach the device";
  EXPECT_EQ(read_file(dst + "/hello"), "") << "the file is in the image, not the directory";

  st = mount_one({"ext4", img, "", {"loop", "rw", "nosuid"}}, dst);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(read_file(dst + "/hello"), "through the loop");
  ASSERT_TRUE(unmount(dst));
  EXPECT_TRUE(wait_detached(tag_).empty());
}

TEST_F(Loop, ReadonlyDeviceAndBackingFile) {
  STRATA_IMAGE(img, "ext4.img", "ext4", kSmallExt4Image);
  // The image reached through a read-only bind: opening it read-write fails with EROFS, so the
  // mount below works only because "ro" opens the backing file O_RDONLY.
  std::string robind = scratch_.dir("robind");
  ASSERT_TRUE(mount_one({"bind", dir_, "", {"bind", "ro"}}, robind));
  std::string via_ro = robind + "/" + std::filesystem::path(img).filename().string();
  ASSERT_EQ(::open(via_ro.c_str(), O_RDWR | O_CLOEXEC), -1);
  ASSERT_EQ(errno, EROFS);

  std::string dst = scratch_.dir("dst");
  Status st = mount_one({"ext4", via_ro, "", {"loop", "ro"}}, dst);
  ASSERT_TRUE(st) << st.error().to_string();
  auto attached = loops();
  ASSERT_EQ(attached.size(), 1u);
  EXPECT_EQ(sys_value(attached[0].device, "ro"), "1");
  EXPECT_TRUE(attached[0].readonly);
  EXPECT_EQ(create_errno(dst + "/new"), EROFS);
  ASSERT_TRUE(unmount(dst));
  EXPECT_TRUE(wait_detached(tag_).empty());

  // Without "ro" the same path cannot be attached: the error says why and names the image.
  st = mount_one({"ext4", via_ro, "", {"loop"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find(via_ro), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find("EROFS"), std::string::npos) << st.error().message();
  EXPECT_TRUE(loops().empty());
  ASSERT_TRUE(unmount(robind));
}

TEST_F(Loop, OneImageIsNeverDrivenByTwoFilesystemsAtOnce) {
  STRATA_IMAGE(img, "ext4.img", "ext4", kSmallExt4Image);
  std::string rw = scratch_.dir("rw"), second = scratch_.dir("second");
  ASSERT_TRUE(mount_one({"ext4", img, "", {"loop"}}, rw));
  // Another path to the same file (a bind of its directory) is the same inode: refused too.
  std::string alias_dir = scratch_.dir("alias");
  ASSERT_TRUE(mount_one({"bind", dir_, "", {"bind"}}, alias_dir));
  const std::string alias = alias_dir + "/" + std::filesystem::path(img).filename().string();
  for (const auto& [source, opts] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {img, {"loop"}}, {img, {"loop", "ro"}}, {alias, {"loop"}}}) {
    Status st = mount_one({"ext4", source, "", opts}, second);
    ASSERT_FALSE(st) << source << " mounted twice";
    EXPECT_EQ(st.error().code(), Code::FailedPrecondition) << st.error().to_string();
    EXPECT_NE(st.error().message().find("already attached to /dev/loop"), std::string::npos)
        << st.error().message();
    EXPECT_NE(st.error().message().find("(read-write)"), std::string::npos);
  }
  EXPECT_EQ(loops().size(), 1u) << "a refused attach leaves no device";
  ASSERT_TRUE(unmount(rw));
  ASSERT_TRUE(wait_detached(tag_).empty());

  // Read-only next to read-only is fine; read-write next to read-only is not.
  ASSERT_TRUE(mount_one({"ext4", img, "", {"loop", "ro"}}, rw));
  Status st = mount_one({"ext4", img, "", {"loop", "ro"}}, second);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(loops().size(), 2u);
  ASSERT_TRUE(unmount(second));
  st = mount_one({"ext4", img, "", {"loop"}}, second);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("(read-only)"), std::string::npos) << st.error().message();
  ASSERT_TRUE(unmount(rw));
  ASSERT_TRUE(unmount(alias_dir));
  EXPECT_TRUE(wait_detached(tag_).empty());
}

TEST_F(Loop, DirectIo) {
  STRATA_IMAGE(img, "ext4.img", "ext4", kSmallExt4Image);
  std::string dst = scratch_.dir("dst");
  // ext4 would refuse an unknown "direct-io" option: mounting proves it was consumed.
  Status st = mount_one({"ext4", img, "", {"loop", "direct-io", "sync"}}, dst);
  ASSERT_TRUE(st) << st.error().to_string();
  std::string dev = device_of(img);
  ASSERT_FALSE(dev.empty());
  EXPECT_EQ(sys_value(dev, "loop/dio"), "1");
  scratch_.file("dst/f", "direct");
  ASSERT_TRUE(unmount(dst));
  EXPECT_TRUE(wait_detached(tag_).empty());

  st = mount_one({"tmpfs", "tmpfs", "", {"direct-io"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("direct-io"), std::string::npos);
}

TEST_F(Loop, UnformattedImageFailsAndLeavesNoDevice) {
  std::string img = image_path("zeros.img");
  {
    int fd = ::open(img.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::ftruncate(fd, kSmallExt4Image), 0);
    ::close(fd);
  }
  std::string dst = scratch_.dir("dst");
  Status st = mount_one({"ext4", img, "", {"loop"}}, dst);
  ASSERT_FALSE(st);
  const std::string& msg = st.error().message();
  EXPECT_NE(msg.find(img), std::string::npos) << msg;
  EXPECT_NE(msg.find("/dev/loop"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no ext4 filesystem"), std::string::npos) << msg;
  EXPECT_FALSE(is_mount_point(dst));
  EXPECT_TRUE(loops().empty()) << "a failed mount must detach at once";
}

TEST_F(Loop, MissingOrWrongSourceFailsWithNoDevice) {
  std::string dst = scratch_.dir("dst");
  std::string missing = image_path("missing.img");
  Status st = mount_one({"ext4", missing, "", {"loop"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::NotFound);
  EXPECT_NE(st.error().message().find(missing), std::string::npos) << st.error().message();

  st = mount_one({"ext4", dir_, "", {"loop"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("not a regular file"), std::string::npos);

  st = mount_one({"bind", dir_, "", {"rbind", "loop"}}, dst);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_TRUE(loops().empty());
}

TEST_F(Loop, FailureAfterAttachDetaches) {
  STRATA_IMAGE(img, "ext4.img", "ext4", kSmallExt4Image);
  // The device is attached before mount(2) finds the target missing.
  Status st = mount_one({"ext4", img, "", {"loop"}}, scratch_.path() + "/no-such-dir");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::NotFound);
  EXPECT_NE(st.error().message().find(img), std::string::npos) << st.error().message();
  EXPECT_TRUE(loops().empty());

  // mount_all rolls back a loop mount made before a later entry failed.
  std::string dst = scratch_.dir("dst");
  st = mount_all({{"ext4", img, "", {"loop"}}, {"no-such-fs-type", "x", "", {}}}, dst);
  ASSERT_FALSE(st);
  EXPECT_FALSE(is_mount_point(dst));
  EXPECT_TRUE(wait_detached(tag_).empty());
}

TEST_F(Loop, TempMountsAttachAndDetach) {
  STRATA_IMAGE(img, "ext4.img", "ext4", kSmallExt4Image);
  std::vector<Mount> ms = {{"ext4", img, "", {"loop", "rw"}}};
  std::string seen;
  Status st = with_temp_mount(
      ms,
      [&](const std::string& root) -> Status {
        seen = root;
        EXPECT_EQ(loops().size(), 1u);
        return strata::fs::write_file_atomic(root, "written", "by a temp mount", 0644);
      },
      scratch_.path());
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_FALSE(is_mount_point(seen));
  EXPECT_TRUE(wait_detached(tag_).empty());

  st = with_readonly_temp_mount(
      ms,
      [&](const std::string& root) -> Status {
        EXPECT_EQ(read_file(root + "/written"), "by a temp mount");
        EXPECT_EQ(create_errno(root + "/new"), EROFS);
        auto attached = loops();
        EXPECT_EQ(attached.size(), 1u);
        EXPECT_TRUE(!attached.empty() && attached[0].readonly)
            << "readonly() keeps \"loop\" and adds \"ro\"";
        return {};
      },
      scratch_.path());
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_TRUE(wait_detached(tag_).empty());
}

TEST_F(Loop, XfsImage) {
  STRATA_IMAGE(img, "xfs.img", "xfs", kSmallXfsImage);
  std::string dst = scratch_.dir("dst");
  Status st = mount_one({"xfs", img, "", {"loop"}}, dst);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(device_of(img).empty(), false);
  scratch_.file("dst/x", "on xfs");
  ASSERT_TRUE(unmount(dst));
  EXPECT_TRUE(wait_detached(tag_).empty());
  st = mount_one({"xfs", img, "", {"loop", "ro"}}, dst);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(read_file(dst + "/x"), "on xfs");
  ASSERT_TRUE(unmount(dst));
  EXPECT_TRUE(wait_detached(tag_).empty());
}

// Threads racing for the same free device: the losers' LOOP_CONFIGURE gets EBUSY and they take
// another one, so every attach succeeds on a device of its own.
TEST_F(Loop, ParallelAttachesEachGetADevice) {
  STRATA_IMAGE(img, "ext4.img", "ext4", kSmallExt4Image);
  constexpr int kThreads = 8;
  std::vector<std::optional<strata::Result<LoopDevice>>> devs(kThreads);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < kThreads)
        std::this_thread::yield();
      devs[i].emplace(LoopDevice::attach(img, {.readonly = true}));
    });
  for (auto& t : threads)
    t.join();
  std::set<std::string> paths;
  for (auto& d : devs) {
    ASSERT_TRUE(d && *d) << (d && !*d ? (*d).error().to_string() : "");
    paths.insert((**d).path());
  }
  EXPECT_EQ(paths.size(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(loops().size(), static_cast<std::size_t>(kThreads));
  devs.clear();
  EXPECT_TRUE(wait_detached(tag_).empty());
}

TEST_F(Loop, DeviceObject) {
  STRATA_IMAGE(img, "ext4.img", "ext4", kSmallExt4Image);
  {
    // Without autoclear only detach() (or the destructor) lets the device go.
    auto dev = LoopDevice::attach(img, {.autoclear = false});
    ASSERT_TRUE(dev) << dev.error().to_string();
    EXPECT_TRUE(dev->path().starts_with("/dev/loop"));
    EXPECT_EQ(dev->backing_file(), img);
    EXPECT_EQ(device_of(img), dev->path());
    LoopDevice moved = std::move(*dev);
    EXPECT_TRUE(dev->path().empty());
    ASSERT_TRUE(moved.detach());
    EXPECT_TRUE(moved.path().empty());
    EXPECT_TRUE(loops().empty());
    ASSERT_TRUE(moved.detach()) << "idempotent";
  }
  {
    auto dev = LoopDevice::attach(img, {.autoclear = false});
    ASSERT_TRUE(dev);
  }
  EXPECT_TRUE(loops().empty()) << "the destructor detaches";
  {
    // With autoclear and no other user, giving up our descriptor detaches it.
    auto dev = LoopDevice::attach(img, {.readonly = true});
    ASSERT_TRUE(dev);
    auto attached = loops();
    ASSERT_EQ(attached.size(), 1u);
    EXPECT_TRUE(attached[0].readonly && attached[0].autoclear);
    dev->release();
    EXPECT_TRUE(wait_detached(tag_).empty());
  }
}

} // namespace
