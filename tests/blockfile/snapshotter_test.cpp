// The blockfile snapshotter's own behaviour beyond the conformance suite: image copies, mount
// shapes, honest usage (also with reflinks), sealing at commit and the journal replay that lets
// views mount read-only.
#include "image.hpp"
#include "support.hpp"

#include <strata/fs/usage.hpp>

#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <unistd.h>

namespace strata::blockfile::test {
namespace {

constexpr std::int64_t MiB = 1 << 20;

// The ext4/xfs "going down" ioctl (EXT4_IOC_SHUTDOWN, XFS_IOC_GOINGDOWN): stop the filesystem as
// a crash would, with the log flushed but nothing checkpointed.
constexpr unsigned long kShutdown = _IOR('X', 125, __u32);
constexpr __u32 kShutdownLogFlush = 1;

fs::ExtentUsage extents(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path;
  auto u = fs::extent_usage(fd);
  ::close(fd);
  EXPECT_TRUE(u.ok()) << u.error().to_string();
  return u.ok() ? *u : fs::ExtentUsage{};
}

// Snapshot entries under root/snapshots, by name.
std::vector<std::string> entries(const std::string& root) {
  return list(root + "/snapshots");
}

TEST_F(BlockfileTest, MountShapes) {
  const std::string root = dir() + "/root";
  json::object config = ext4_config();
  config["mount_options"] = json::array{"direct-io"};
  auto s = open(root, config);
  ASSERT_TRUE(s);
  auto a = s->prepare("a", "", {});
  ASSERT_OK(a);
  ASSERT_EQ(a->size(), 1u);
  EXPECT_EQ(a->front().type, "ext4");
  EXPECT_EQ(a->front().source, root + "/snapshots/1");
  EXPECT_EQ(a->front().options, (std::vector<std::string>{"direct-io", "loop", "rw"}));
  ASSERT_OK(s->commit("base", "a", {}));
  auto v = s->view("v", "base", {});
  ASSERT_OK(v);
  EXPECT_EQ(v->front().source, root + "/snapshots/1") << "a view mounts its parent's image";
  EXPECT_EQ(v->front().options, (std::vector<std::string>{"direct-io", "loop", "ro"}));
  auto pv = s->view("parentless-view", "", {});
  ASSERT_OK(pv);
  EXPECT_EQ(pv->front().source, root + "/snapshots/3") << "its own copy of the scratch";
  EXPECT_EQ(pv->front().options.back(), "ro");

  // xfs: every image carries the scratch's UUID, so nouuid lets two of them mount at once.
  Mount x = image_mount("/img", FsType::Xfs, {"loop"}, true);
  EXPECT_EQ(x.type, "xfs");
  EXPECT_EQ(x.options, (std::vector<std::string>{"loop", "nouuid", "rw"}));
}

TEST_F(BlockfileTest, ImagesAreCopiesAndViewsArePlaceholders) {
  const std::string root = dir() + "/root";
  auto s = open(root, ext4_config());
  ASSERT_TRUE(s);
  ASSERT_OK(commit_with_file(*s, "base", "", "f", "base\n", dir()));
  auto b = s->prepare("b", "base", {});
  ASSERT_OK(b);
  EXPECT_EQ(file_size(b->front().source), 16 * MiB) << "a whole image";
  {
    auto at = mounted(*b, dir());
    ASSERT_OK(at);
    EXPECT_EQ(read_file(at->path() + "/f"), "base\n");
    ASSERT_TRUE(write_file(at->path() + "/f", "changed\n"));
  }
  // The parent's image is untouched by the child's writes.
  auto v = s->view("v", "base", {});
  ASSERT_OK(v);
  EXPECT_EQ(entries(root), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(file_size(root + "/snapshots/3"), 0) << "a view with a parent owns a placeholder";
  {
    auto at = mounted(*v, dir());
    ASSERT_OK(at);
    EXPECT_EQ(read_file(at->path() + "/f"), "base\n");
    EXPECT_FALSE(write_file(at->path() + "/g", "x")) << "views are read-only";
  }
  auto u = s->usage("v");
  ASSERT_OK(u);
  EXPECT_EQ(u->size, 0);
  EXPECT_EQ(u->inodes, 0);

  // Removal takes the file away, with no rm- entry left.
  ASSERT_OK(s->remove("v"));
  ASSERT_OK(s->remove("b"));
  EXPECT_EQ(entries(root), std::vector<std::string>{"1"});
}

TEST_F(BlockfileTest, UsageCountsOnlyWhatTheSnapshotAdded) {
  // /var/tmp here holds the images without sharing extents: each copy is a sparse copy, and the
  // baseline keeps the parent's bytes out of the child's usage.
  const std::string root = dir() + "/root";
  auto s = open(root, ext4_config());
  ASSERT_TRUE(s);
  auto a = s->prepare("a", "", {});
  ASSERT_OK(a);
  {
    auto at = mounted(*a, dir());
    ASSERT_OK(at);
    ASSERT_TRUE(write_random(at->path() + "/base", 2 * MiB));
  }
  ASSERT_OK(s->commit("base", "a", {}));
  auto base = s->usage("base");
  ASSERT_OK(base);
  EXPECT_GE(base->size, 2 * MiB);
  EXPECT_LT(base->size, 3 * MiB);
  EXPECT_EQ(base->inodes, 1);

  auto c = s->prepare("child", "base", {});
  ASSERT_OK(c);
  auto fresh = s->usage("child");
  ASSERT_OK(fresh);
  EXPECT_LT(fresh->size, 256 << 10) << "nothing written yet";
  {
    auto at = mounted(*c, dir());
    ASSERT_OK(at);
    ASSERT_TRUE(write_random(at->path() + "/one-mib", MiB));
  }
  auto grown = s->usage("child");
  ASSERT_OK(grown);
  EXPECT_GE(grown->size, MiB);
  EXPECT_LT(grown->size, MiB + 512 * 1024) << "about 1 MiB, not the parent's bytes or 16 MiB";
  EXPECT_EQ(grown->inodes, 1) << "one new file; the parent's inodes are not counted";
  ASSERT_OK(s->commit("child-c", "child", {}));
  auto stored = s->usage("child-c");
  ASSERT_OK(stored);
  EXPECT_GE(stored->size, MiB);
  EXPECT_LT(stored->size, MiB + 512 * 1024);

  // A child that deletes its parent's data has added nothing; usage never goes below 0.
  auto d = s->prepare("deleter", "base", {});
  ASSERT_OK(d);
  {
    auto at = mounted(*d, dir());
    ASSERT_OK(at);
    ASSERT_EQ(::unlink((at->path() + "/base").c_str()), 0);
  }
  auto del = s->usage("deleter");
  ASSERT_OK(del);
  EXPECT_GE(del->size, 0);
  EXPECT_LT(del->size, 256 << 10);
}

TEST_F(BlockfileTest, CopiesShareExtentsOnAReflinkFilesystem) {
  // The plugin root on xfs with reflink, itself on a loop device.
  const std::string img = dir() + "/reflink-xfs.img";
  const std::string maker = dir() + "/maker";
  ASSERT_TRUE(open(maker, json::object{{"fs_type", "xfs"}, {"size", "300MiB"}}));
  ASSERT_EQ(::rename((maker + "/scratch").c_str(), img.c_str()), 0);
  {
    // mkfs.xfs makes reflink=1 by default since xfsprogs 5.1; check rather than trust it.
    auto at = mounted({image_mount(img, FsType::Xfs, {"loop"}, true)}, dir());
    ASSERT_OK(at);
    const std::string a = at->path() + "/probe-a", b = at->path() + "/probe-b";
    ASSERT_TRUE(write_random(a, 4096));
    int in = ::open(a.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(b.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_EQ(::ioctl(out, FICLONE, in), 0) << "no reflink on " << img << ": " << errno;
    ::close(in);
    ::close(out);
  }
  auto holder = mounted({image_mount(img, FsType::Xfs, {"loop"}, true)}, dir());
  ASSERT_OK(holder);
  const std::string root = holder->path() + "/root";
  {
    auto s = open(root, ext4_config());
    ASSERT_TRUE(s);
    auto a = s->prepare("a", "", {});
    ASSERT_OK(a);
    EXPECT_GT(extents(a->front().source).shared, 0u) << "a reflink of the scratch";
    auto fresh = s->usage("a");
    ASSERT_OK(fresh);
    EXPECT_LT(fresh->size, 64 << 10);
    {
      auto at = mounted(*a, dir());
      ASSERT_OK(at);
      ASSERT_TRUE(write_random(at->path() + "/one-mib", MiB));
    }
    auto grown = s->usage("a");
    ASSERT_OK(grown);
    EXPECT_GE(grown->size, MiB);
    EXPECT_LT(grown->size, MiB + 512 * 1024);
    ASSERT_OK(s->commit("base", "a", {}));

    auto c = s->prepare("child", "base", {});
    ASSERT_OK(c);
    fs::ExtentUsage child = extents(c->front().source);
    fs::ExtentUsage parent = extents(root + "/snapshots/1");
    EXPECT_EQ(child.shared, child.allocated) << "every extent shared with the parent";
    EXPECT_GE(child.shared, static_cast<std::uint64_t>(MiB));
    EXPECT_EQ(parent.shared, parent.allocated);
    auto u = s->usage("child");
    ASSERT_OK(u);
    EXPECT_LT(u->size, 64 << 10);
    // Rewriting the parent's megabyte in place unshares it: that is the child's cost now.
    {
      auto at = mounted(*c, dir());
      ASSERT_OK(at);
      ASSERT_TRUE(write_random(at->path() + "/one-mib", MiB));
    }
    u = s->usage("child");
    ASSERT_OK(u);
    EXPECT_GE(u->size, MiB);
    EXPECT_LT(u->size, MiB + 512 * 1024);
    ASSERT_OK(s->close());
  }
  ASSERT_OK(holder->release());
}

TEST_F(BlockfileTest, CommitFailsCleanlyWhenTheImageIsGone) {
  const std::string root = dir() + "/root";
  auto s = open(root, ext4_config());
  ASSERT_TRUE(s);
  auto a = s->prepare("a", "", {});
  ASSERT_OK(a);
  ASSERT_EQ(::unlink(a->front().source.c_str()), 0);
  Status st = s->commit("base", "a", {});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::NotFound) << st.error().to_string();
  EXPECT_NE(st.error().message().find(a->front().source), std::string::npos)
      << st.error().message();
  auto info = s->stat("a");
  ASSERT_OK(info);
  EXPECT_EQ(info->kind, Kind::Active) << "still active";
  EXPECT_FALSE(s->stat("base").ok());
}

TEST_F(BlockfileTest, CommitOfAMountedImageIsRefused) {
  // seal() runs at commit: an image still attached to a loop device would change after it.
  const std::string root = dir() + "/root";
  auto s = open(root, ext4_config());
  ASSERT_TRUE(s);
  auto a = s->prepare("a", "", {});
  ASSERT_OK(a);
  {
    auto at = mounted(*a, dir());
    ASSERT_OK(at);
    Status st = s->commit("base", "a", {});
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), Code::FailedPrecondition);
    EXPECT_NE(st.error().message().find("unmount the snapshot before committing"),
              std::string::npos)
        << st.error().message();
    auto info = s->stat("a");
    ASSERT_OK(info);
    EXPECT_EQ(info->kind, Kind::Active);
  }
  EXPECT_OK(s->commit("base", "a", {}));
}

TEST_F(BlockfileTest, ViewOfACommitWhoseJournalNeedsRecoveryMounts) {
  const std::string root = dir() + "/root";
  auto s = open(root, ext4_config());
  ASSERT_TRUE(s);
  auto a = s->prepare("a", "", {});
  ASSERT_OK(a);
  const std::string image = a->front().source;
  {
    // A crash while mounted: the write is in the journal only, the journal not replayed.
    auto at = mounted(*a, dir());
    ASSERT_OK(at);
    ASSERT_TRUE(write_random(at->path() + "/data", 64 << 10));
    ASSERT_TRUE(write_file(at->path() + "/journaled", "survived\n"));
    int fd = ::open((at->path() + "/journaled").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::fsync(fd), 0);
    __u32 how = kShutdownLogFlush;
    ASSERT_EQ(::ioctl(fd, kShutdown, &how), 0) << "shutdown ioctl: " << errno;
    ::close(fd);
  }
  auto dirty = may_need_recovery(image, FsType::Ext4);
  ASSERT_OK(dirty);
  ASSERT_TRUE(*dirty) << "the shutdown left the journal to recover";
  // The premise: a read-only loop mount of such an image fails (checked on a copy).
  const std::string copy = dir() + "/dirty-copy.img";
  ASSERT_OK(copy_image(image, copy));
  {
    auto tm = mount::TempMount::create({image_mount(copy, FsType::Ext4, {"loop"}, false)}, dir());
    EXPECT_FALSE(tm.ok()) << "a read-only mount of a dirty ext4 image worked; the test proves "
                             "nothing about the journal replay at commit";
  }

  ASSERT_OK(s->commit("base", "a", {}));
  auto clean = may_need_recovery(image, FsType::Ext4);
  ASSERT_OK(clean);
  EXPECT_FALSE(*clean) << "commit replayed the journal";
  auto v = s->view("v", "base", {});
  ASSERT_OK(v);
  auto at = mounted(*v, dir());
  ASSERT_OK(at);
  EXPECT_EQ(read_file(at->path() + "/journaled"), "survived\n");
}

TEST_F(BlockfileTest, ReopenKeepsImages) {
  const std::string root = dir() + "/root";
  {
    auto s = open(root, ext4_config());
    ASSERT_TRUE(s);
    ASSERT_OK(commit_with_file(*s, "base", "", "f", "kept\n", dir()));
    ASSERT_OK(s->close());
  }
  // An orphan (a crashed creation) is swept at open.
  ASSERT_TRUE(write_file(root + "/snapshots/new-7", "half"));
  auto s = open(root, ext4_config());
  ASSERT_TRUE(s);
  EXPECT_EQ(entries(root), std::vector<std::string>{"1"});
  auto v = s->view("v", "base", {});
  ASSERT_OK(v);
  auto at = mounted(*v, dir());
  ASSERT_OK(at);
  EXPECT_EQ(read_file(at->path() + "/f"), "kept\n");
}

} // namespace
} // namespace strata::blockfile::test
