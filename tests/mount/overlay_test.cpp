// Overlay mounts through both kernel interfaces, long layer chains and feature probes.
#include "scratch.hpp"

#include <strata/mount/mount.hpp>
#include <strata/mount/overlay.hpp>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <sys/mount.h>
#include <unistd.h>

namespace {

using strata::Code;
using strata::Mount;
using namespace strata::mount;
using namespace strata::mount::testing;

std::string method_name(OverlayMethod m) {
  switch (m) {
  case OverlayMethod::Auto:
    return "Auto";
  case OverlayMethod::Fsconfig:
    return "Fsconfig";
  case OverlayMethod::MountData:
    return "MountData";
  }
  return "?";
}

class OverlayBoth : public ::testing::TestWithParam<OverlayMethod> {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "mount tests need root (real mounts, user namespaces)";
    if (GetParam() == OverlayMethod::Fsconfig && !overlay_lowerdir_append_supported())
      GTEST_SKIP() << "kernel lacks overlay lowerdir+ (Linux 6.8+)";
  }
};

TEST_P(OverlayBoth, OneLowerWithUpper) {
  Scratch s;
  s.file("lower/a", "from-lower");
  s.dir("upper");
  s.dir("work");
  std::string merged = s.dir("merged");
  Mount m{"overlay",
          "overlay",
          "",
          {"workdir=" + s.path() + "/work", "upperdir=" + s.path() + "/upper",
           "lowerdir=" + s.path() + "/lower", "index=off"}};
  auto st = mount_overlay(m, merged, GetParam());
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(read_file(merged + "/a"), "from-lower");
  {
    std::FILE* f = std::fopen((merged + "/b").c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("written", f);
    std::fclose(f);
  }
  ASSERT_TRUE(unmount(merged));
  EXPECT_EQ(read_file(s.path() + "/upper/b"), "written") << "writes land in the upperdir";
  EXPECT_EQ(read_file(s.path() + "/lower/b"), "");
}

TEST_P(OverlayBoth, TwoLowersTopWinsAndIsReadonly) {
  Scratch s;
  s.file("top/shared", "top");
  s.file("bottom/shared", "bottom");
  s.file("bottom/only-bottom", "b");
  std::string merged = s.dir("merged");
  Mount m{
      "overlay", "overlay", "", {"lowerdir=" + s.path() + "/top:" + s.path() + "/bottom", "ro"}};
  auto st = mount_overlay(m, merged, GetParam());
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(read_file(merged + "/shared"), "top");
  EXPECT_EQ(read_file(merged + "/only-bottom"), "b");
  int fd = ::open((merged + "/new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, EROFS);
  ASSERT_TRUE(unmount(merged));
}

TEST_P(OverlayBoth, EscapedLayerNames) {
  Scratch s;
  s.file("we:ird,one/x", "escaped");
  s.file("plain/y", "plain");
  std::string merged = s.dir("merged");
  Mount m{"overlay",
          "overlay",
          "",
          {"lowerdir=" + escape_overlay_path(s.path() + "/we:ird,one") + ":" +
           escape_overlay_path(s.path() + "/plain")}};
  auto st = mount_overlay(m, merged, GetParam());
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(read_file(merged + "/x"), "escaped");
  EXPECT_EQ(read_file(merged + "/y"), "plain");
  ASSERT_TRUE(unmount(merged));
}

TEST_P(OverlayBoth, SharedUpperRefusedLowersShared) {
  Scratch s;
  s.file("l1/dir/f", "1");
  s.file("l2/g", "2");
  s.dir("upper");
  s.dir("work");
  std::string m1 = s.dir("m1");
  std::string m2 = s.dir("m2");
  std::string lowers = "lowerdir=" + s.path() + "/l1:" + s.path() + "/l2";
  Mount rw{
      "overlay",
      "overlay",
      "",
      {"workdir=" + s.path() + "/work", "upperdir=" + s.path() + "/upper", lowers, "index=off"}};
  auto a = mount_overlay(rw, m1, GetParam());
  ASSERT_TRUE(a) << a.error().to_string();

  // index=off lets the kernel take a second mount of the same upper; a second cleanup of the
  // shared workdir would break the first mount's copy-ups and whiteouts.
  auto b = mount_overlay(rw, m2, GetParam());
  ASSERT_FALSE(b);
  EXPECT_FALSE(is_mount_point(m2));
  EXPECT_EQ(b.error().code(), Code::FailedPrecondition);
  EXPECT_NE(b.error().message().find("\"" + m1 + "\""), std::string::npos) << b.error().message();

  // The first mount still writes: removing a lower directory needs a working workdir.
  std::error_code ec;
  std::filesystem::remove_all(m1 + "/dir", ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_FALSE(std::filesystem::exists(m1 + "/dir"));

  // Lowers alone (a view) can be mounted any number of times, beside the writable mount too.
  Mount view{"overlay", "overlay", "", {lowers, "index=off"}};
  auto v1 = mount_overlay(view, m2, GetParam());
  ASSERT_TRUE(v1) << v1.error().to_string();
  std::string m3 = s.dir("m3");
  auto v2 = mount_overlay(view, m3, GetParam());
  ASSERT_TRUE(v2) << v2.error().to_string();
  EXPECT_EQ(read_file(m3 + "/g"), "2");
  EXPECT_TRUE(unmount(m3));
  EXPECT_TRUE(unmount(m2));

  // Unmounted by plain umount2, as from outside strata: nothing recorded blocks the next mount.
  ASSERT_EQ(::umount2(m1.c_str(), 0), 0);
  auto again = mount_overlay(rw, m2, GetParam());
  ASSERT_TRUE(again) << again.error().to_string();
  EXPECT_FALSE(std::filesystem::exists(m2 + "/dir"));
  EXPECT_TRUE(unmount(m2));
}

TEST_P(OverlayBoth, ErrorsNameOptionsAndExplain) {
  Scratch s;
  s.dir("l1");
  std::string merged = s.dir("merged");
  // One lowerdir without an upperdir: overlay refuses it.
  Mount m{"overlay", "overlay", "", {"lowerdir=" + s.path() + "/l1"}};
  auto st = mount_overlay(m, merged, GetParam());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("lowerdir=" + s.path() + "/l1"), std::string::npos);
  EXPECT_NE(st.error().message().find("EINVAL"), std::string::npos) << st.error().message();
  EXPECT_NE(st.error().message().find(merged), std::string::npos);

  Mount missing{"overlay", "overlay", "", {"lowerdir=" + s.path() + "/l1:" + s.path() + "/nope"}};
  st = mount_overlay(missing, merged, GetParam());
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find(s.path() + "/nope"), std::string::npos);

  Mount nolower{"overlay", "overlay", "", {"upperdir=/x"}};
  st = mount_overlay(nolower, merged, GetParam());
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_FALSE(is_mount_point(merged));
}

INSTANTIATE_TEST_SUITE_P(Methods, OverlayBoth,
                         ::testing::Values(OverlayMethod::Fsconfig, OverlayMethod::MountData),
                         [](const auto& info) { return method_name(info.param); });

// 500 layers is overlay's maximum; their option string is far beyond one page.
TEST(OverlayLong, FiveHundredLowerdirs) {
  STRATA_REQUIRE_ROOT();
  if (!overlay_lowerdir_append_supported())
    GTEST_SKIP() << "kernel lacks overlay lowerdir+ (Linux 6.8+); long chains need it";
  Scratch s;
  constexpr int kLayers = 500;
  std::string lower;
  for (int i = kLayers - 1; i >= 0; --i) { // top (highest number) first
    std::string name = "layers/" + std::to_string(i) + "/fs";
    s.file(name + "/layer-" + std::to_string(i), std::to_string(i));
    s.file(name + "/shared", std::to_string(i));
    lower += (lower.empty() ? "" : ":") + s.path() + "/" + name;
  }
  ASSERT_GT(lower.size(), 4096u);
  std::string merged = s.dir("merged");
  Mount m{"overlay", "overlay", "", {"lowerdir=" + lower, "index=off"}};

  auto st = mount_one(m, merged);
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(read_file(merged + "/shared"), "499") << "top layer wins";
  EXPECT_EQ(read_file(merged + "/layer-0"), "0") << "bottom layer is visible";
  EXPECT_EQ(read_file(merged + "/layer-250"), "250");
  ASSERT_TRUE(unmount(merged));

  auto classic = mount_overlay(m, merged, OverlayMethod::MountData);
  ASSERT_FALSE(classic);
  EXPECT_EQ(classic.error().code(), Code::InvalidArgument);
  EXPECT_NE(classic.error().message().find("at most 4095"), std::string::npos)
      << classic.error().message();

  // One more than overlay's limit: the kernel's own words reach the message.
  s.file("layers/500/fs/x", "x");
  m.options[0] = "lowerdir=" + s.path() + "/layers/500/fs:" + lower;
  auto too_many = mount_one(m, merged);
  ASSERT_FALSE(too_many);
  EXPECT_EQ(too_many.error().code(), Code::InvalidArgument);
  EXPECT_NE(too_many.error().message().find("lowerdir+"), std::string::npos)
      << too_many.error().message();
  EXPECT_NE(too_many.error().message().find("500"), std::string::npos)
      << too_many.error().message();
  EXPECT_FALSE(is_mount_point(merged));
}

TEST(OverlayProbes, Features) {
  STRATA_REQUIRE_ROOT();
  EXPECT_TRUE(overlay_supported());
  Scratch s;
  auto ux = overlay_userxattr_supported(s.path());
  ASSERT_TRUE(ux) << ux.error().to_string();
  EXPECT_TRUE(*ux);
  auto needs = overlay_needs_userxattr(s.path());
  ASSERT_TRUE(needs);
  std::string map = read_file("/proc/self/uid_map");
  if (map.find("4294967295") != std::string::npos) {
    EXPECT_FALSE(*needs) << "the initial user namespace can use trusted.* xattrs";
  }
  std::printf("overlay lowerdir+ supported: %s\n",
              overlay_lowerdir_append_supported() ? "yes" : "no");
  // Probes clean up after themselves.
  int left = 0;
  for (const auto& e : std::filesystem::directory_iterator(s.path()))
    left += e.exists() ? 1 : 0;
  EXPECT_EQ(left, 0);
}

} // namespace
