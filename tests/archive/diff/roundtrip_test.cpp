// Round trips: trees -> write_diff -> apply onto fresh roots -> identical trees by tree_digest,
// in Remove mode and, with a real overlay mount, in Overlay mode.
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

class RoundTrip : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-roundtrip-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    root_ = ::geteuid() == 0;
  }
  void TearDown() override {
    ::umount2((top_ / "merged").c_str(), MNT_DETACH);
    stdfs::remove_all(top_);
  }

  // A first layer with every kind of entry strata carries.
  void build_base(const stdfs::path& d) {
    put(d / "etc/os-release", "ID=strata\n");
    put(d / "etc/shadow", "root:*:", 0640);
    put(d / "bin/su", "su", 04755);
    put(d / "usr/lib/big", std::string(300000, 'b'));
    put(d / "doomed/tree/leaf", "x");
    put(d / "becomes_dir", "f");
    put(d / "becomes_file/child", "c");
    put(d / "var/cache/old", "o");
    ASSERT_EQ(::link((d / "bin/su").c_str(), (d / "bin/su-link").c_str()), 0);
    stdfs::create_symlink("../usr/lib", d / "bin/lib");
    stdfs::create_symlink("/absolute/target", d / "dangling");
    ASSERT_EQ(::setxattr((d / "etc/os-release").c_str(), "user.origin", "base", 4, 0), 0);
    ::mkfifo((d / "fifo").c_str(), 0600);
    if (root_) {
      ASSERT_EQ(::mknod((d / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
      ASSERT_EQ(::chown((d / "etc/shadow").c_str(), 0, 42), 0);
      ASSERT_EQ(::lchown((d / "bin/lib").c_str(), 7, 7), 0);
      ::chmod((d / "bin/su").c_str(), 04755); // chown cleared nothing here, but be sure
    }
  }

  // The second layer: deletions, modifications, type changes, new links.
  void build_next(const stdfs::path& from, const stdfs::path& d) {
    ASSERT_EQ(
        std::system(
            ("rm -rf " + d.string() + " && cp -a " + from.string() + " " + d.string()).c_str()),
        0);
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
};

TEST_F(RoundTrip, LayersAppliedInOrderRebuildTheTree) {
  build_base(top_ / "v1");
  build_next(top_ / "v1", top_ / "v2");
  const std::string l1 = tar_of("", (top_ / "v1").string());
  const std::string l2 = tar_of((top_ / "v1").string(), (top_ / "v2").string());

  apply_into(top_ / "out", l1);
  EXPECT_EQ(listing(top_ / "out"), listing(top_ / "v1"));
  apply_into(top_ / "out", l2);
  EXPECT_EQ(listing(top_ / "out"), listing(top_ / "v2"));
  EXPECT_EQ(*tree_digest((top_ / "out").string()), *tree_digest((top_ / "v2").string()));

  // And back again: the applied tree diffs to a layer that rebuilds it on a fresh root.
  apply_into(top_ / "again", tar_of("", (top_ / "out").string()));
  EXPECT_EQ(listing(top_ / "again"), listing(top_ / "v2"));
}

TEST_F(RoundTrip, TimesSurviveToTheSecond) {
  build_base(top_ / "v1");
  apply_into(top_ / "out", tar_of("", (top_ / "v1").string()));
  TreeDigestOptions o;
  o.mtimes = true;
  EXPECT_EQ(listing(top_ / "out", o), listing(top_ / "v1", o));
}

TEST_F(RoundTrip, OverlayModeLayersMountToTheSameTree) {
  if (!root_)
    GTEST_SKIP() << "overlay mounts need root";
  build_base(top_ / "v1");
  build_next(top_ / "v1", top_ / "v2");
  const std::string l1 = tar_of("", (top_ / "v1").string());
  const std::string l2 = tar_of((top_ / "v1").string(), (top_ / "v2").string());
  archive::ApplyOptions overlay;
  overlay.whiteouts = archive::WhiteoutMode::Overlay;
  apply_into(top_ / "lower", l1, overlay);
  apply_into(top_ / "upper", l2, overlay);
  stdfs::create_directories(top_ / "work");
  stdfs::create_directories(top_ / "merged");
  const std::string data = "lowerdir=" + (top_ / "lower").string() +
                           ",upperdir=" + (top_ / "upper").string() +
                           ",workdir=" + (top_ / "work").string() + ",index=off";
  if (::mount("overlay", (top_ / "merged").c_str(), "overlay", 0, data.c_str()) != 0)
    GTEST_SKIP() << "overlay mount failed here: " << std::strerror(errno);
  TreeDigestOptions o;
  o.exclude_xattrs.push_back("trusted.overlay.");
  EXPECT_EQ(listing(top_ / "merged", o), listing(top_ / "v2", o));
}

} // namespace
} // namespace strata::testing
