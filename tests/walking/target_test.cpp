// Which mounts and media types the walking differ takes, and that everything else is
// NotImplemented (so the diff service moves on) rather than some other error.
#include "config.hpp"
#include "target.hpp"

#include <gtest/gtest.h>

namespace {

using strata::Code;
using strata::Mount;
using strata::walking::apply_target;
using strata::walking::plain_directory;

TEST(ApplyTarget, BindMountIsItsSourceDirectory) {
  auto t = apply_target({Mount{"bind", "/var/lib/x/fs", "", {"rbind", "rw"}}});
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(t->dir, "/var/lib/x/fs");
  EXPECT_EQ(t->whiteouts, strata::archive::WhiteoutMode::Remove);
}

TEST(ApplyTarget, OverlayAppliesIntoUpperdirWithOverlayWhiteouts) {
  auto t = apply_target(
      {Mount{"overlay",
             "overlay",
             "",
             {"index=off", "lowerdir=/l/2:/l/1", "upperdir=/u/fs", "workdir=/u/work"}}});
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(t->dir, "/u/fs");
  EXPECT_EQ(t->whiteouts, strata::archive::WhiteoutMode::Overlay);
  EXPECT_EQ(t->opaque_xattr, "trusted.overlay.opaque");
  EXPECT_EQ(t->lowerdirs, (std::vector<std::string>{"/l/2", "/l/1"}));
  EXPECT_FALSE(t->parents_unknown);
}

TEST(ApplyTarget, OverlayOptionValuesAreUnescaped) {
  // The overlay snapshotter escapes '\\', ':' and ',' in its paths, as the kernel wants them.
  auto t = apply_target({Mount{
      "overlay",
      "overlay",
      "",
      {"lowerdir=/r\\:1/a\\,b:/r\\:1/c::/data", "upperdir=/r\\:1/u\\,v", "workdir=/r\\:1/w"}}});
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(t->dir, "/r:1/u,v");
  EXPECT_EQ(t->lowerdirs, (std::vector<std::string>{"/r:1/a,b", "/r:1/c"}))
      << "data-only layers are not in the merged view";
  for (const char* upper : {"upperdir=/a:/b", "upperdir=/a\\"}) {
    auto bad = apply_target({Mount{"overlay", "overlay", "", {"lowerdir=/l", upper}}});
    ASSERT_FALSE(bad) << upper;
    EXPECT_EQ(bad.error().code(), strata::Code::InvalidArgument) << bad.error().to_string();
  }
  auto bad = apply_target({Mount{"overlay", "overlay", "", {"lowerdir=/l:", "upperdir=/u"}}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), strata::Code::InvalidArgument);
}

TEST(ApplyTarget, OverlayWithoutLowerdirHasNothingBelow) {
  // ApplyTarget::Mounts: an overlay's lowerdirs are all its lowers, so none means none. A layer
  // applied before its parents says so with UpperdirUnknownLowers, never by the mount's shape.
  auto t = apply_target({Mount{"overlay", "overlay", "", {"upperdir=/u/fs"}}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->dir, "/u/fs");
  EXPECT_TRUE(t->lowerdirs.empty());
  EXPECT_FALSE(t->parents_unknown);
  auto bind = apply_target({Mount{"bind", "/d", "", {"rbind", "rw"}}});
  ASSERT_TRUE(bind);
  EXPECT_FALSE(bind->parents_unknown);
  EXPECT_EQ(bind->whiteouts, strata::archive::WhiteoutMode::Remove);
}

TEST(ApplyTarget, UpperdirUnknownLowersIsABindMountWrittenAsAnUpperdir) {
  const auto unknown = strata::ApplyTarget::UpperdirUnknownLowers;
  auto t = apply_target({Mount{"bind", "/s/fs", "", {"rbind", "rw"}}}, unknown);
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(t->dir, "/s/fs");
  EXPECT_EQ(t->whiteouts, strata::archive::WhiteoutMode::Overlay);
  EXPECT_TRUE(t->parents_unknown);
  EXPECT_TRUE(t->lowerdirs.empty());
  // Anything but one bind mount is not this target's shape: the next differ may know better.
  const std::vector<std::vector<Mount>> others = {
      {Mount{"overlay", "overlay", "", {"lowerdir=/l", "upperdir=/u", "workdir=/w"}}},
      {Mount{"overlay", "overlay", "", {"upperdir=/u"}}},
      {Mount{"ext4", "/dev/loop0", "", {}}},
      {},
  };
  for (const auto& mounts : others) {
    auto r = apply_target(mounts, unknown);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::NotImplemented) << r.error().to_string();
  }
}

TEST(ApplyTarget, UserxattrOverlayUsesTheUserOpaqueXattr) {
  auto t = apply_target(
      {Mount{"overlay", "overlay", "", {"userxattr", "lowerdir=/l", "upperdir=/u", "workdir=/w"}}});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->opaque_xattr, "user.overlay.opaque");
}

TEST(ApplyTarget, EverythingElseIsNotImplemented) {
  const std::vector<std::vector<Mount>> cases = {
      {},
      {Mount{"ext4", "/dev/loop0", "", {}}},
      {Mount{"overlay", "overlay", "", {"lowerdir=/a:/b"}}}, // read-only overlay: no upperdir
      {Mount{"bind", "/a", "", {"rbind"}}, Mount{"bind", "/b", "", {"rbind"}}},
  };
  for (const auto& mounts : cases) {
    auto t = apply_target(mounts);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code(), Code::NotImplemented) << t.error().to_string();
  }
}

TEST(ApplyTarget, LoopImageIsMountedByTheApply) {
  const std::vector<Mount> mounts = {Mount{"ext4", "/s/snapshots/7", "", {"loop", "rw"}}};
  auto t = apply_target(mounts);
  ASSERT_TRUE(t) << t.error().to_string();
  EXPECT_EQ(t->image, mounts);
  EXPECT_TRUE(t->dir.empty()) << "known once apply() has mounted the image";
  EXPECT_EQ(t->whiteouts, strata::archive::WhiteoutMode::Remove);
  auto unknown = apply_target(mounts, strata::ApplyTarget::UpperdirUnknownLowers);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Code::NotImplemented);
}

TEST(ApplyTarget, ReadOnlyOrRelativeTargetsAreInvalid) {
  const std::vector<Mount> cases = {
      Mount{"bind", "/a", "", {"rbind", "ro"}},
      Mount{"bind", "a/b", "", {"rbind"}},
      Mount{"ext4", "/s/snapshots/7", "", {"loop", "ro"}},
      Mount{"xfs", "snapshots/7", "", {"loop"}},
  };
  for (const auto& m : cases) {
    auto t = apply_target({m});
    ASSERT_FALSE(t) << m.source;
    EXPECT_EQ(t.error().code(), Code::InvalidArgument) << t.error().to_string();
  }
}

TEST(PlainDirectory, NoMountsIsTheEmptyTreeAndOverlayNeedsAMount) {
  auto none = plain_directory({}, "lower");
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, "");
  auto overlay = plain_directory({Mount{"overlay", "overlay", "", {"lowerdir=/a:/b"}}}, "upper");
  ASSERT_FALSE(overlay);
  EXPECT_EQ(overlay.error().code(), Code::NotImplemented);
}

TEST(Config, DefaultsDecodeAndBadValuesNameTheKey) {
  auto ok = strata::walking::decode(strata::json::object{});
  ASSERT_TRUE(ok);
  EXPECT_FALSE(ok->no_same_owner);
  strata::json::object bad{{"xattr_errors", "maybe"}};
  auto r = strata::walking::decode(bad);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("xattr_errors"), std::string::npos);
  strata::json::object negative{{"max_layer_bytes", -1}};
  EXPECT_FALSE(strata::walking::decode(negative));
}

} // namespace
