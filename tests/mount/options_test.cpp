// Option parsing and the pure Mount transformations: no kernel involved.
#include <strata/mount/idmap.hpp>
#include <strata/mount/options.hpp>
#include <strata/mount/overlay.hpp>

#include <gtest/gtest.h>

#include <sys/mount.h>

namespace {

using strata::Code;
using strata::Mount;
using strata::mount::parse_options;

struct FlagCase {
  std::vector<std::string> options;
  unsigned long flags;
  std::vector<std::string> data;
};

TEST(ParseOptions, FlagTable) {
  const std::vector<FlagCase> cases = {
      {{"ro"}, MS_RDONLY, {}},
      {{"rw"}, 0, {}},
      {{"ro", "rw"}, 0, {}},
      {{"rw", "ro"}, MS_RDONLY, {}},
      {{"bind"}, MS_BIND, {}},
      {{"rbind"}, MS_BIND | MS_REC, {}},
      {{"rbind", "ro"}, MS_BIND | MS_REC | MS_RDONLY, {}},
      {{"nosuid", "nodev", "noexec"}, MS_NOSUID | MS_NODEV | MS_NOEXEC, {}},
      {{"nosuid", "suid"}, 0, {}},
      {{"noatime", "relatime"}, MS_RELATIME, {}},
      {{"relatime", "strictatime"}, MS_STRICTATIME, {}},
      {{"nodiratime", "sync", "dirsync"}, MS_NODIRATIME | MS_SYNCHRONOUS | MS_DIRSYNC, {}},
      {{"remount", "ro"}, MS_REMOUNT | MS_RDONLY, {}},
      {{"defaults"}, 0, {}},
      {{"lowerdir=/a:/b", "ro", "index=off"}, MS_RDONLY, {"lowerdir=/a:/b", "index=off"}},
      {{"size=64m", "mode=755", "nosuid"}, MS_NOSUID, {"size=64m", "mode=755"}},
      {{"userxattr", "ro", "volatile"}, MS_RDONLY, {"userxattr", "volatile"}},
  };
  for (const auto& c : cases) {
    auto p = parse_options(c.options);
    EXPECT_EQ(p.flags, c.flags) << ::testing::PrintToString(c.options);
    EXPECT_EQ(p.data, c.data) << ::testing::PrintToString(c.options);
  }
}

TEST(ParseOptions, RoNeverReachesData) {
  auto p = parse_options({"workdir=/w", "ro", "upperdir=/u", "lowerdir=/l", "ro"});
  EXPECT_EQ(p.flags & MS_RDONLY, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(p.data_string(), "workdir=/w,upperdir=/u,lowerdir=/l");
  EXPECT_EQ(p.data_string().find("ro,"), std::string::npos);
}

TEST(ParseOptions, ClearedFlagsAreRecorded) {
  auto p = parse_options({"nosuid", "rw", "suid", "exec"});
  EXPECT_EQ(p.flags, 0UL);
  EXPECT_EQ(p.cleared & (MS_RDONLY | MS_NOSUID | MS_NOEXEC),
            static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_NOEXEC));
}

TEST(ParseOptions, Propagation) {
  EXPECT_EQ(parse_options({"private"}).propagation, static_cast<unsigned long>(MS_PRIVATE));
  EXPECT_EQ(parse_options({"rslave"}).propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(parse_options({"rbind", "rshared"}).propagation,
            static_cast<unsigned long>(MS_SHARED | MS_REC));
  EXPECT_EQ(parse_options({"rbind", "rshared"}).flags,
            static_cast<unsigned long>(MS_BIND | MS_REC));
  EXPECT_EQ(parse_options({"runbindable"}).propagation,
            static_cast<unsigned long>(MS_UNBINDABLE | MS_REC));
  EXPECT_TRUE(parse_options({"shared"}).data.empty());
}

TEST(ParseOptions, OwnKeys) {
  auto p = parse_options({"uidmap=0:1000:65536", "gidmap=0:2000:65536", "loop",
                          "X-strata.mkdir.path=/x", "X-containerd.foo", "lowerdir=/a"});
  ASSERT_TRUE(p.uidmap && p.gidmap);
  EXPECT_EQ(*p.uidmap, "0:1000:65536");
  EXPECT_EQ(*p.gidmap, "0:2000:65536");
  EXPECT_TRUE(p.idmapped());
  EXPECT_TRUE(p.loop);
  EXPECT_EQ(p.internal, (std::vector<std::string>{"X-strata.mkdir.path=/x", "X-containerd.foo"}));
  EXPECT_EQ(p.data, std::vector<std::string>{"lowerdir=/a"});
  EXPECT_FALSE(parse_options({"uidmap=0:1:1"}).idmapped());
}

TEST(ParseOptions, LoopAndDirectIoAreOurs) {
  auto p = parse_options({"loop", "direct-io", "ro", "errors=remount-ro"});
  EXPECT_TRUE(p.loop);
  EXPECT_TRUE(p.direct_io);
  EXPECT_EQ(p.flags, static_cast<unsigned long>(MS_RDONLY));
  EXPECT_EQ(p.data, std::vector<std::string>{"errors=remount-ro"}) << "never given to the fs";
  EXPECT_FALSE(parse_options({"loop"}).direct_io);
}

TEST(MountValues, LoopMounts) {
  using strata::mount::is_readonly;
  using strata::mount::readonly;
  EXPECT_FALSE(is_readonly({"ext4", "/img", "", {"loop"}}));
  EXPECT_TRUE(is_readonly({"ext4", "/img", "", {"loop", "ro"}}));
  EXPECT_FALSE(is_readonly({"xfs", "/img", "", {"ro", "loop", "rw", "direct-io"}}));
  auto out = readonly({{"ext4", "/img", "", {"loop", "rw", "direct-io"}}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], (Mount{"ext4", "/img", "", {"loop", "direct-io", "ro"}}));
  EXPECT_TRUE(is_readonly(out[0]));
}

TEST(MountValues, IsReadonly) {
  using strata::mount::is_readonly;
  EXPECT_TRUE(is_readonly({"bind", "/a", "", {"ro", "rbind"}}));
  EXPECT_FALSE(is_readonly({"bind", "/a", "", {"rw", "rbind"}}));
  EXPECT_FALSE(is_readonly({"bind", "/a", "", {"ro", "rw"}}));
  EXPECT_TRUE(is_readonly({"overlay", "overlay", "", {"lowerdir=/a:/b"}}));
  EXPECT_FALSE(is_readonly({"overlay", "overlay", "", {"upperdir=/u", "lowerdir=/a"}}));
  EXPECT_TRUE(is_readonly({"overlay", "overlay", "", {"upperdir=/u,lowerdir=/a,ro"}}));
  EXPECT_TRUE(is_readonly({"format/mkdir/erofs", "/img", "", {}}));
  EXPECT_TRUE(is_readonly({"format/overlay", "overlay", "", {"lowerdir=/a:/b"}}));
}

TEST(MountValues, ReadonlyTransform) {
  using strata::mount::readonly;
  std::vector<Mount> in = {
      {"bind", "/s", "", {"rw", "rbind"}},
      {"overlay",
       "overlay",
       "",
       {"workdir=/w", "upperdir=/u", "lowerdir=/l1:/l2", "uidmap=0:1:1", "gidmap=0:1:1",
        "index=off"}},
      {"overlay", "overlay", "", {"workdir=/w", "upperdir=/u", "lowerdir=/l1"}},
      {"overlay", "overlay", "", {"workdir=/w", "upperdir=/u\\:x", "lowerdir=/l1"}},
      {"overlay", "overlay", "", {"workdir=/w", "upperdir=/only"}},
  };
  const std::vector<Mount> before = in;
  auto out = readonly(in);
  EXPECT_EQ(in, before) << "readonly() must not modify its input";
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0], (Mount{"bind", "/s", "", {"rbind", "ro"}}));
  EXPECT_EQ(out[1], (Mount{"overlay", "overlay", "", {"lowerdir=/u:/l1:/l2", "index=off"}}));
  EXPECT_EQ(out[2], (Mount{"overlay", "overlay", "", {"lowerdir=/u:/l1"}}));
  EXPECT_EQ(out[3], (Mount{"overlay", "overlay", "", {"lowerdir=/u\\:x:/l1"}}));
  // One layer left: overlay would refuse it, a read-only bind shows the same thing.
  EXPECT_EQ(out[4], (Mount{"bind", "/only", "", {"ro", "rbind"}}));
}

TEST(MountValues, RemoveVolatileAndIdmap) {
  std::vector<Mount> in = {
      {"overlay", "overlay", "", {"lowerdir=/a:/b", "volatile", "fsync=volatile", "uidmap=0:1:1"}},
      {"bind", "/x", "", {"volatile", "gidmap=0:1:1"}},
  };
  auto v = strata::mount::remove_volatile(in);
  EXPECT_EQ(v[0].options, (std::vector<std::string>{"lowerdir=/a:/b", "uidmap=0:1:1"}));
  EXPECT_EQ(v[1].options, in[1].options) << "only overlay knows volatile";
  auto i = strata::mount::remove_idmap(in);
  EXPECT_EQ(i[0].options,
            (std::vector<std::string>{"lowerdir=/a:/b", "volatile", "fsync=volatile"}));
  EXPECT_EQ(i[1].options, std::vector<std::string>{"volatile"});
}

TEST(OverlayPaths, EscapeAndSplitRoundTrip) {
  using strata::mount::escape_overlay_path;
  using strata::mount::split_lowerdirs;
  std::vector<std::string> paths = {"/plain", "/with:colon", "/with,comma", "/back\\slash"};
  std::string joined;
  for (const auto& p : paths)
    joined += (joined.empty() ? "" : ":") + escape_overlay_path(p);
  EXPECT_EQ(escape_overlay_path("/with:colon"), "/with\\:colon");
  auto split = split_lowerdirs(joined);
  ASSERT_TRUE(split) << split.error().to_string();
  EXPECT_EQ(*split, paths);

  std::vector<std::string> data;
  auto layers = split_lowerdirs("/a:/b::/d1::/d2", &data);
  ASSERT_TRUE(layers);
  EXPECT_EQ(*layers, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(data, (std::vector<std::string>{"/d1", "/d2"}));

  for (const char* bad : {"", ":/a", "/a:", "/a:::/b", "::/a", "/a\\", "/a::/d:/b"}) {
    auto r = split_lowerdirs(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  }
}

TEST(OverlayPaths, UnescapeIsTheInverseOfEscape) {
  using strata::mount::escape_overlay_path;
  using strata::mount::unescape_overlay_path;
  for (const char* p : {"/plain", "/with:colon", "/with,comma", "/back\\slash", "/a:b,c\\d"}) {
    auto back = unescape_overlay_path(escape_overlay_path(p));
    ASSERT_TRUE(back) << p << ": " << back.error().to_string();
    EXPECT_EQ(*back, p);
  }
  for (const char* bad : {"", "/a:/b", "/a\\"}) {
    auto r = unescape_overlay_path(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
  }
}

TEST(IdMappings, Parse) {
  using strata::mount::IdMapping;
  using strata::mount::parse_id_mappings;
  auto m = parse_id_mappings("0:1000:65536");
  ASSERT_TRUE(m);
  EXPECT_EQ(*m, (std::vector<IdMapping>{{0, 1000, 65536}}));
  m = parse_id_mappings("0:100000:1,1:200000:1000");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(strata::mount::format_proc_id_map(*m), "0 100000 1\n1 200000 1000\n");

  for (const char* bad :
       {"", "0:1000", "0:1000:1:2", "-1:1000:1", "0:-5:1", "a:b:c", "0:1000:0", "0:4294967295:1",
        "0:4294967290:10", "0:1:10,5:100:1", "0:1:1,1:1:1", "0:1:1,", " 0:1:1"}) {
    auto r = parse_id_mappings(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find("container-id:host-id:size"), std::string::npos)
        << r.error().message();
  }
}

} // namespace
