// The hostile-layer corpus: each layer tries to reach outside the root or to crash the applier.
// Every case expects a clear error or a documented safe result, and the fixture checks that the
// sentinel tree beside the root did not change.
#include "sandbox.hpp"

#include <strata/archive/compression.hpp>

#include <sys/sysmacros.h>

namespace strata::testing {
namespace {

using Type = TarEntry::Type;

class Hostile : public ApplySandbox {
protected:
  std::string outside_abs(const std::string& rest = "") const { return (outside_ / rest).string(); }
};

// -- names ---------------------------------------------------------------------------------

TEST_F(Hostile, DotDotNameIsRefused) {
  auto msg =
      expect_error(TarBuilder().file("../outside/file", "pwned").bytes(), Code::InvalidArgument);
  EXPECT_NE(msg.find("../outside/file"), std::string::npos) << msg;
}

TEST_F(Hostile, DotDotInTheMiddleClimbingOutIsRefused) {
  expect_error(TarBuilder().file("a/b/../../../outside/file", "pwned").bytes(),
               Code::InvalidArgument);
}

TEST_F(Hostile, DotDotThatStaysInsideIsCleaned) {
  ASSERT_TRUE(apply(TarBuilder().file("a/b/../c", "ok").bytes()));
  EXPECT_EQ(read_file(root_ / "a/c"), "ok");
}

TEST_F(Hostile, AbsoluteNameLandsInsideTheRoot) {
  // Documented: a leading '/' is dropped, so the entry is written below the root.
  ASSERT_TRUE(apply(TarBuilder().file(outside_abs("file"), "pwned").bytes()));
  EXPECT_EQ(read_file(root_ / outside_abs("file").substr(1)), "pwned");
}

TEST_F(Hostile, HugeNameIsAnErrorNotACrash) {
  std::string name(5000, 'n');
  expect_error(TarBuilder().file(name, "x").bytes(), Code::InvalidArgument);
}

TEST_F(Hostile, HugeComponentIsAnErrorNotACrash) {
  std::string name = "dir/" + std::string(300, 'c') + "/file";
  expect_error(TarBuilder().file(name, "x").bytes(), Code::InvalidArgument);
}

TEST_F(Hostile, DeepNestingIsAnErrorOrInsideTheRoot) {
  std::string name;
  for (int i = 0; i < 2000; ++i)
    name += "d/";
  name += "leaf";
  auto r = apply(TarBuilder().file(name, "deep").bytes());
  if (!r) {
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << r.error().to_string();
  }
}

TEST_F(Hostile, EntryNamedDotIsSkipped) {
  ASSERT_TRUE(apply(TarBuilder().dir("./", 0777).dir(".", 0777).file("./x", "x").bytes()));
  struct stat st {};
  ASSERT_EQ(::stat(root_.c_str(), &st), 0);
  EXPECT_NE(st.st_mode & 0777, 0777u) << "the root's own mode must not come from a layer";
}

// -- symlinks --------------------------------------------------------------------------------

TEST_F(Hostile, WriteThroughRelativeSymlinkStaysInside) {
  auto r = apply(TarBuilder().symlink("link", "../outside").file("link/file", "pwned").bytes());
  // The link resolves to <root>/outside, which does not exist: an error, or (if created) inside.
  if (r) {
    EXPECT_EQ(read_file(root_ / "outside/file"), "pwned");
  }
}

TEST_F(Hostile, WriteThroughAbsoluteSymlinkStaysInside) {
  stdfs::create_directories(root_ / outside_abs().substr(1));
  ASSERT_TRUE(apply(TarBuilder().symlink("abs", outside_abs()).file("abs/file", "pwned").bytes()));
  EXPECT_EQ(read_file(root_ / outside_abs("file").substr(1)), "pwned");
}

TEST_F(Hostile, SymlinkToSlashIsTheRoot) {
  ASSERT_TRUE(apply(TarBuilder().symlink("slash", "/").file("slash/etc/x", "in").bytes()));
  EXPECT_EQ(read_file(root_ / "etc/x"), "in");
}

TEST_F(Hostile, SymlinkedParentDirectoryIsFollowedInsideTheRoot) {
  ASSERT_TRUE(apply(TarBuilder().dir("real").symlink("sym", "real").file("sym/f", "f").bytes()));
  EXPECT_EQ(read_file(root_ / "real/f"), "f");
}

TEST_F(Hostile, DotDotSymlinkChainStaysInside) {
  ASSERT_TRUE(apply(TarBuilder()
                        .dir("a/b")
                        .symlink("a/b/up", "../../../../../..")
                        .file("a/b/up/etc/passwd", "root::0:0")
                        .bytes()));
  EXPECT_EQ(read_file(root_ / "etc/passwd"), "root::0:0");
}

TEST_F(Hostile, SymlinkLoopInParentIsAnError) {
  expect_error(TarBuilder().symlink("l1", "l2").symlink("l2", "l1").file("l1/x", "x").bytes(),
               Code::InvalidArgument);
}

TEST_F(Hostile, FileOverSymlinkReplacesTheLink) {
  ASSERT_TRUE(
      apply(TarBuilder().symlink("s", outside_abs("file")).file("s", "replaced", 0777).bytes()));
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "s").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(read_file(root_ / "s"), "replaced");
}

TEST_F(Hostile, DirectoryOverSymlinkReplacesTheLink) {
  ASSERT_TRUE(apply(TarBuilder().symlink("d", "../outside").dir("d", 0777).bytes()));
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(Hostile, ChownChmodUtimesOfSymlinkEntryNeverFollow) {
  TarEntry e;
  e.type = Type::Symlink;
  e.name = "s";
  e.link = outside_abs("file");
  e.uid = 4242;
  e.gid = 4242;
  e.mode = 0777;
  e.mtime = 1;
  ASSERT_TRUE(apply(TarBuilder().add(e).bytes()));
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "s").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 4242u);
  }
}

TEST_F(Hostile, SymlinkToOutsideDirThenDirEntryThroughIt) {
  ASSERT_TRUE(apply(TarBuilder().symlink("x", "../outside/dir").dir("x/", 0700).bytes()));
}

TEST_F(Hostile, LongSymlinkTargetIsAnErrorOrVerbatim) {
  std::string target(5000, 't');
  auto r = apply(TarBuilder().symlink("s", target).bytes());
  if (r) {
    EXPECT_EQ(stdfs::read_symlink(root_ / "s").string(), target);
  } else {
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
  }
}

// -- hardlinks ---------------------------------------------------------------------------------

TEST_F(Hostile, HardlinkWithDotDotIsRefused) {
  expect_error(TarBuilder().hardlink("h", "../outside/file").bytes(), Code::InvalidArgument);
}

TEST_F(Hostile, HardlinkToAbsoluteHostPathResolvesInsideTheRoot) {
  // <root>/<outside path> does not exist, so there is nothing to link.
  expect_error(TarBuilder().hardlink("h", outside_abs("file")).bytes(), Code::NotFound);
}

TEST_F(Hostile, HardlinkThroughSymlinkedDirStaysInside) {
  expect_error(TarBuilder().symlink("o", outside_abs()).hardlink("h", "o/file").bytes(),
               Code::NotFound);
}

TEST_F(Hostile, HardlinkToSymlinkLinksTheSymlinkItself) {
  ASSERT_TRUE(apply(TarBuilder()
                        .symlink("s", outside_abs("file"))
                        .hardlink("h", "s")
                        .file("h2", "not through")
                        .bytes()));
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "h").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_nlink, 2u);
}

TEST_F(Hostile, FileEntryOverHardlinkedSymlinkDoesNotWriteThrough) {
  ASSERT_TRUE(apply(TarBuilder()
                        .symlink("s", outside_abs("file"))
                        .hardlink("h", "s")
                        .file("h", "pwned", 0666)
                        .bytes()));
  EXPECT_EQ(read_file(root_ / "h"), "pwned");
}

TEST_F(Hostile, HardlinkToDirectoryIsAnError) {
  auto r = apply(TarBuilder().dir("d").hardlink("h", "d").bytes());
  ASSERT_FALSE(r);
}

TEST_F(Hostile, HardlinkToMissingTargetIsNotFound) {
  expect_error(TarBuilder().hardlink("h", "nope").bytes(), Code::NotFound);
}

TEST_F(Hostile, HardlinkReplacesAnExistingPath) {
  ASSERT_TRUE(apply(TarBuilder().file("a", "A").file("b", "B").hardlink("b", "a").bytes()));
  EXPECT_EQ(read_file(root_ / "b"), "A");
  struct stat st {};
  ASSERT_EQ(::stat((root_ / "a").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
}

// -- whiteouts ---------------------------------------------------------------------------------

TEST_F(Hostile, BareWhiteoutIsRefused) {
  expect_error(TarBuilder().file(".wh.", "").bytes(), Code::InvalidArgument);
}

TEST_F(Hostile, WhiteoutOfDotDotIsRefused) {
  expect_error(TarBuilder().file("a/.wh...", "").bytes(), Code::InvalidArgument);
  expect_error(TarBuilder().file(".wh..", "").bytes(), Code::InvalidArgument);
}

TEST_F(Hostile, WhiteoutThroughSymlinkedAncestorStaysInside) {
  write_file(root_ / "outside/file", "inside copy");
  ASSERT_TRUE(apply(TarBuilder().symlink("w", "../outside").file("w/.wh.file", "").bytes()));
  EXPECT_FALSE(stdfs::exists(root_ / "outside/file"));
}

TEST_F(Hostile, WhiteoutThroughAbsoluteSymlinkToOutsideRemovesNothingOutside) {
  ASSERT_TRUE(apply(TarBuilder().symlink("w", outside_abs()).file("w/.wh.file", "").bytes()));
}

TEST_F(Hostile, OpaqueThroughSymlinkStaysInside) {
  ASSERT_TRUE(apply(TarBuilder().symlink("w", outside_abs()).file("w/.wh..wh..opq", "").bytes()));
}

TEST_F(Hostile, WhiteoutDirectoryNameIsAnOrdinaryName) {
  ASSERT_TRUE(apply(TarBuilder().file(".wh.etc/file", "x").bytes()));
  EXPECT_EQ(read_file(root_ / ".wh.etc/file"), "x");
}

// -- duplicates and types -----------------------------------------------------------------------

TEST_F(Hostile, DuplicateFileLastOneWins) {
  ASSERT_TRUE(apply(TarBuilder().file("f", "one").file("f", "two").bytes()));
  EXPECT_EQ(read_file(root_ / "f"), "two");
}

TEST_F(Hostile, FileThenDirectory) {
  ASSERT_TRUE(apply(TarBuilder().file("x", "f").dir("x").file("x/y", "y").bytes()));
  EXPECT_EQ(read_file(root_ / "x/y"), "y");
}

TEST_F(Hostile, DirectoryThenFileReplacesTheTree) {
  ASSERT_TRUE(apply(TarBuilder().dir("x").file("x/y", "y").file("x", "f").bytes()));
  EXPECT_EQ(read_file(root_ / "x"), "f");
}

TEST_F(Hostile, EntryUnderAFileIsAnError) {
  expect_error(TarBuilder().file("f", "f").file("f/x", "x").bytes(), Code::InvalidArgument);
}

TEST_F(Hostile, DeviceNodesAndFifos) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "mknod of devices needs root";
  TarEntry c, b, p;
  c.type = Type::Char, c.name = "dev/null", c.major = 1, c.minor = 3, c.mode = 0666;
  b.type = Type::Block, b.name = "dev/loop9", b.major = 7, b.minor = 9, b.mode = 0660;
  p.type = Type::Fifo, p.name = "run/fifo", p.mode = 0600;
  ASSERT_TRUE(apply(TarBuilder().add(c).add(b).add(p).bytes()));
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  ASSERT_EQ(::lstat((root_ / "dev/loop9").c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(7, 9));
  ASSERT_EQ(::lstat((root_ / "run/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(Hostile, DeviceNodeOverSymlinkToOutside) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "mknod of devices needs root";
  TarEntry c;
  c.type = Type::Char, c.name = "s", c.major = 1, c.minor = 3, c.mode = 0666;
  ASSERT_TRUE(apply(TarBuilder().symlink("s", outside_abs("file")).add(c).bytes()));
}

// -- broken streams -----------------------------------------------------------------------------

TEST_F(Hostile, TruncatedInsideAHeader) {
  std::string tar = TarBuilder().file("a", std::string(2000, 'a')).file("b", "b").bytes();
  // Cut in the middle of the second entry's header (pax headers come first).
  expect_error(tar.substr(0, 512 * 6 + 100), Code::InvalidArgument);
}

TEST_F(Hostile, TruncatedInsideData) {
  std::string tar = TarBuilder().file("a", std::string(100000, 'a')).bytes();
  expect_error(tar.substr(0, 50000), Code::InvalidArgument);
}

TEST_F(Hostile, GarbageIsNotATar) {
  expect_error(std::string(4096, '\x42'), Code::InvalidArgument);
}

TEST_F(Hostile, CorruptGzip) {
  std::string gz = gzip(TarBuilder().file("a", std::string(100000, 'a')).bytes());
  for (std::size_t i = 20; i < gz.size() - 10; i += 7)
    gz[i] = static_cast<char>(gz[i] ^ 0x5a);
  auto r = archive::apply(root_.string(),
                          archive::decompressing(string_source(gz), archive::Compression::Gzip));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument) << r.error().to_string();
}

TEST_F(Hostile, TruncatedGzip) {
  std::string gz = gzip(TarBuilder().file("a", std::string(100000, 'a')).bytes());
  auto r = archive::apply(root_.string(),
                          archive::decompressing(string_source(gz.substr(0, 60)), std::nullopt));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument) << r.error().to_string();
}

TEST_F(Hostile, CorruptZstd) {
  std::string zs = zstd(TarBuilder().file("a", std::string(100000, 'a')).bytes());
  for (std::size_t i = 8; i < zs.size(); i += 3)
    zs[i] = static_cast<char>(zs[i] ^ 0x33);
  auto r = archive::apply(root_.string(), archive::decompressing(string_source(zs), std::nullopt));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument) << r.error().to_string();
}

TEST_F(Hostile, DecompressionBombStopsAtTheOutputLimit) {
  std::string bomb = gzip(TarBuilder().file("zeros", std::string(64 << 20, '\0')).bytes());
  ASSERT_LT(bomb.size(), 1u << 20);
  auto r = archive::apply(root_.string(),
                          archive::decompressing(string_source(bomb), std::nullopt, 4 << 20));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::ResourceExhausted) << r.error().to_string();
}

TEST_F(Hostile, EntrySizesOverTheLimit) {
  archive::ApplyOptions opts;
  opts.max_total_bytes = 1000;
  expect_error(
      TarBuilder().file("a", std::string(600, 'a')).file("b", std::string(600, 'b')).bytes(),
      Code::ResourceExhausted, opts);
}

// -- xattrs ---------------------------------------------------------------------------------------

TEST_F(Hostile, OverlayXattrsFromALayerAreIgnored) {
  TarEntry d;
  d.type = Type::Dir, d.name = "d", d.mode = 0755;
  d.xattrs["trusted.overlay.opaque"] = "y";
  d.xattrs["trusted.overlay.redirect"] = "/etc";
  ASSERT_TRUE(apply(TarBuilder().add(d).bytes()));
  char v[16];
  EXPECT_LT(::lgetxattr((root_ / "d").c_str(), "trusted.overlay.opaque", v, sizeof v), 0);
  EXPECT_EQ(warnings_.size(), 2u);
}

TEST_F(Hostile, RefusedXattrFailsOrWarnsByPolicy) {
  // user.* xattrs are not allowed on symlinks: the kernel refuses with EPERM.
  TarEntry s;
  s.type = Type::Symlink, s.name = "s", s.link = "t";
  s.xattrs["user.note"] = "x";
  archive::ApplyOptions fail;
  fail.unsupported_xattrs = archive::XattrPolicy::Fail;
  auto msg = expect_error(TarBuilder().add(s).bytes(), Code::PermissionDenied, fail);
  EXPECT_NE(msg.find("user.note"), std::string::npos) << msg;
  stdfs::remove(root_ / "s");
  ASSERT_TRUE(apply(TarBuilder().add(s).bytes()));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("user.note"), std::string::npos);
}

} // namespace
} // namespace strata::testing
