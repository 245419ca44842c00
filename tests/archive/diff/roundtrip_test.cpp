// Round trips: a chain of trees -> write_diff(empty, v1), write_diff(v1, v2), ... -> apply in
// order onto a fresh root -> the same tree by tree_digest after every layer; in Remove mode onto
// one directory and, through a real overlay mount of the layers, in Overlay mode.
#include "tar_builder.hpp"
#include "tree_digest.hpp"

#include <strata/archive/apply.hpp>
#include <strata/archive/diff.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace strata::testing {
namespace {

namespace stdfs = std::filesystem;

void put(const stdfs::path& p, const std::string& data, mode_t mode = 0644) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
  ::chmod(p.c_str(), mode);
}

// security.capability for cap_net_raw+ep (VFS_CAP_REVISION_2).
const std::string kNetRawCap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                             "\x00\x00\x00\x00\x00\x00\x00\x00",
                             20);

class RoundTrip : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-roundtrip-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    root_ = ::geteuid() == 0;
  }
  void TearDown() override {
    if (mounted_)
      ::umount2((top_ / "merged").c_str(), MNT_DETACH);
    stdfs::remove_all(top_);
  }

  stdfs::path version(int i) const { return top_ / ("v" + std::to_string(i)); }

  // v1: every kind of entry a layer carries.
  void build_v1(const stdfs::path& d) {
    put(d / "etc/os-release", "ID=strata\n");
    put(d / "etc/shadow", "root:*:", 0640);
    put(d / "etc/empty", "");
    put(d / "bin/su", "su", 04755);
    put(d / "usr/lib/big", std::string(300000, 'b'));
    put(d / "doomed/tree/leaf", "x");
    put(d / "becomes_dir", "f");
    put(d / "becomes_file/child", "c");
    put(d / "var/cache/old", "o");
    stdfs::create_directories(d / "var/empty");
    ASSERT_EQ(::link((d / "bin/su").c_str(), (d / "bin/su-link").c_str()), 0);
    stdfs::create_symlink("../usr/lib", d / "bin/lib");
    stdfs::create_symlink("/absolute/target", d / "dangling");
    ASSERT_EQ(::setxattr((d / "etc/os-release").c_str(), "user.origin", "base", 4, 0), 0);
    ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
    ASSERT_EQ(::chmod((d / "fifo").c_str(), 0620), 0);
    stdfs::create_directories(d / "tmp");
    ASSERT_EQ(::chmod((d / "tmp").c_str(), 01777), 0);
    if (root_) {
      ASSERT_EQ(::mknod((d / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
      ASSERT_EQ(::mknod((d / "sda").c_str(), S_IFBLK | 0660, makedev(8, 0)), 0);
      ASSERT_EQ(::chown((d / "etc/shadow").c_str(), 0, 42), 0);
      ASSERT_EQ(::lchown((d / "bin/lib").c_str(), 7, 7), 0);
      ASSERT_EQ(::chown((d / "var/cache").c_str(), 100, 101), 0);
      put(d / "bin/ping", "ping", 0755);
      ASSERT_EQ(::setxattr((d / "bin/ping").c_str(), "security.capability", kNetRawCap.data(),
                           kNetRawCap.size(), 0),
                0);
    }
  }

  // v2: deletions, modifications, type changes, new links and xattrs.
  void build_v2(const stdfs::path& d) {
    stdfs::remove_all(d / "doomed");
    stdfs::remove(d / "var/cache/old");
    put(d / "etc/os-release", "ID=strata\nVERSION=2\n");
    ::chmod((d / "etc/shadow").c_str(), 0600);
    stdfs::remove(d / "becomes_dir");
    put(d / "becomes_dir/inside", "i");
    stdfs::remove_all(d / "becomes_file");
    put(d / "becomes_file", "now a file");
    put(d / "new/deep/file", "n");
    ASSERT_EQ(::link((d / "etc/os-release").c_str(), (d / "new/os-link").c_str()), 0);
    ASSERT_EQ(::setxattr((d / "usr/lib/big").c_str(), "user.tag", "v2", 2, 0), 0);
    ASSERT_EQ(
        ::linkat(AT_FDCWD, (d / "bin/lib").c_str(), AT_FDCWD, (d / "bin/lib-hard").c_str(), 0), 0);
  }

  // v3: what survives a layer is undone or turned into something else.
  void build_v3(const stdfs::path& d) {
    ASSERT_EQ(::removexattr((d / "usr/lib/big").c_str(), "user.tag"), 0);
    ASSERT_EQ(::chmod((d / "usr").c_str(), 0700), 0);
    stdfs::remove(d / "becomes_file");
    stdfs::create_symlink("etc/os-release", d / "becomes_file");
    stdfs::remove_all(d / "becomes_dir");
    stdfs::create_symlink("/nowhere", d / "becomes_dir");
    put(d / "doomed", "back, as a file");
    stdfs::remove(d / "bin/su-link");
    stdfs::remove(d / "fifo");
    put(d / "fifo", "a file now");
    put(d / "donn\xc3\xa9"
            "es/caf\xc3\xa9",
        "utf-8 names");
    put(d / "raw\xff", "not utf-8");
    const stdfs::path deep = d / std::string(120, 'a') / std::string(120, 'b');
    put(deep / std::string(200, 'c'), "long path");
    stdfs::create_symlink(std::string(300, 't'), d / "long-target");
    put(d / "var/cache/new", "n");
    if (root_) {
      ASSERT_EQ(::chown((d / "etc/os-release").c_str(), 1000, 1000), 0);
      put(d / "bigids", "b");
      ASSERT_EQ(::chown((d / "bigids").c_str(), 3000000, 4000000), 0);
      ASSERT_EQ(::chmod((d / "bin/su").c_str(), 04755), 0);
    }
  }

  // v4: most of the tree goes away.
  void build_v4(const stdfs::path& d) {
    for (const char* p : {"usr", "etc", "new", "var/cache"})
      stdfs::remove_all(d / p);
    stdfs::remove(d / "bin/lib");
    put(d / "etc", "etc is a file now");
  }

  // v0 is empty; v<i> is a copy of v<i-1> (cp -a keeps links, owners, xattrs, times) changed
  // by the i-th builder.
  void build_chain() {
    stdfs::create_directories(version(0));
    const std::vector<std::function<void(const stdfs::path&)>> builders = {
        [this](const stdfs::path& d) { build_v1(d); },
        [this](const stdfs::path& d) { build_v2(d); },
        [this](const stdfs::path& d) { build_v3(d); },
        [this](const stdfs::path& d) { build_v4(d); },
    };
    for (std::size_t i = 0; i < builders.size(); ++i) {
      const stdfs::path from = version(static_cast<int>(i)), to = version(static_cast<int>(i + 1));
      ASSERT_EQ(std::system(("/bin/cp -a " + from.string() + " " + to.string()).c_str()), 0);
      builders[i](to);
      if (HasFatalFailure())
        return;
    }
    layers_ = builders.size();
  }

  std::string tar_of(const std::string& lower, const std::string& upper) {
    std::string out;
    auto r = archive::write_diff(lower, upper, [&](std::span<const std::byte> b) -> Status {
      out.append(reinterpret_cast<const char*>(b.data()), b.size());
      return {};
    });
    EXPECT_TRUE(r) << r.error().to_string();
    return out;
  }

  void apply_into(const stdfs::path& dir, const std::string& tar, archive::ApplyOptions opts = {}) {
    stdfs::create_directories(dir);
    auto r = archive::apply(dir.string(), string_source(tar), opts);
    ASSERT_TRUE(r) << r.error().to_string();
  }

  static std::string listing(const stdfs::path& d, TreeDigestOptions o = {}) {
    auto l = tree_listing(d.string(), o);
    return l ? *l : l.error().to_string();
  }

  stdfs::path top_;
  bool root_ = false;
  bool mounted_ = false;
  std::size_t layers_ = 0;
};

TEST_F(RoundTrip, LayersAppliedInOrderRebuildEveryVersion) {
  build_chain();
  ASSERT_EQ(layers_, 4u);
  for (std::size_t i = 1; i <= layers_; ++i) {
    const int v = static_cast<int>(i);
    apply_into(top_ / "out", tar_of(version(v - 1).string(), version(v).string()));
    EXPECT_EQ(listing(top_ / "out"), listing(version(v))) << "after layer " << i;
    EXPECT_EQ(*tree_digest((top_ / "out").string()), *tree_digest(version(v).string()));
  }
  // And back again: the applied tree diffs to one layer that rebuilds it on a fresh root.
  apply_into(top_ / "again", tar_of("", (top_ / "out").string()));
  EXPECT_EQ(listing(top_ / "again"), listing(version(static_cast<int>(layers_))));
}

TEST_F(RoundTrip, SquashedLayerEqualsTheChain) {
  build_chain();
  // One diff from v1 straight to v3 gives the same tree as v1 -> v2 -> v3.
  apply_into(top_ / "out", tar_of("", version(1).string()));
  apply_into(top_ / "out", tar_of(version(1).string(), version(3).string()));
  EXPECT_EQ(listing(top_ / "out"), listing(version(3)));
}

TEST_F(RoundTrip, TimesSurviveToTheSecond) {
  build_chain();
  TreeDigestOptions o;
  o.mtimes = true;
  o.dir_mtimes = true; // a first layer carries every directory, so their times too
  apply_into(top_ / "out", tar_of("", version(1).string()));
  EXPECT_EQ(listing(top_ / "out", o), listing(version(1), o));
}

TEST_F(RoundTrip, SourceDateEpochLayersRebuildTheTreeWithClampedTimes) {
  build_chain();
  archive::DiffOptions opts;
  opts.source_date_epoch = Timestamp(std::chrono::seconds(1000000000));
  std::string tar;
  auto r = archive::write_diff(
      "", version(1).string(),
      [&](std::span<const std::byte> b) -> Status {
        tar.append(reinterpret_cast<const char*>(b.data()), b.size());
        return {};
      },
      opts);
  ASSERT_TRUE(r) << r.error().to_string();
  apply_into(top_ / "out", tar);
  EXPECT_EQ(listing(top_ / "out"), listing(version(1)));
  struct stat st {};
  ASSERT_EQ(::lstat((top_ / "out/etc/os-release").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
}

TEST_F(RoundTrip, OverlayModeLayersMountToTheSameTree) {
  if (!root_)
    GTEST_SKIP() << "overlay mounts need root";
  build_chain();
  archive::ApplyOptions overlay;
  overlay.whiteouts = archive::WhiteoutMode::Overlay;
  std::string lowerdirs;
  for (std::size_t i = 1; i <= layers_; ++i) {
    const int v = static_cast<int>(i);
    const stdfs::path layer = top_ / ("layer" + std::to_string(i));
    apply_into(layer, tar_of(version(v - 1).string(), version(v).string()), overlay);
    lowerdirs = layer.string() + (lowerdirs.empty() ? "" : ":" + lowerdirs);
    overlay.parents.insert(overlay.parents.begin(), layer.string()); // the next layer's parents
  }
  // Only layers, no upperdir: a read-only overlay whose lowest layer is layer1.
  stdfs::create_directories(top_ / "merged");
  const std::string data = "lowerdir=" + lowerdirs;
  if (::mount("overlay", (top_ / "merged").c_str(), "overlay", MS_RDONLY, data.c_str()) != 0)
    GTEST_SKIP() << "overlay mount failed here: " << std::strerror(errno);
  mounted_ = true;
  TreeDigestOptions o;
  o.exclude_xattrs.push_back("trusted.overlay.");
  EXPECT_EQ(listing(top_ / "merged", o), listing(version(static_cast<int>(layers_)), o));
}

} // namespace
} // namespace strata::testing
