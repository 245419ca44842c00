// The hostile-layer corpus: each layer tries to reach outside the root or to crash the applier.
// Every case expects a clear error or a documented safe result, and the fixture checks that the
// sentinel tree beside the root did not change.
#include "sandbox.hpp"

#include <strata/archive/compression.hpp>

#include <strata/fs/root.hpp>

#include <fcntl.h>
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
  ASSERT_TRUE(expect_ok(TarBuilder().file("a/b/../c", "ok").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "a/c"), "ok");
}

TEST_F(Hostile, AbsoluteNameLandsInsideTheRoot) {
  // Documented: a leading '/' is dropped, so the entry is written below the root.
  ASSERT_TRUE(expect_ok(TarBuilder().file(outside_abs("file"), "pwned").bytes()).ok);
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

TEST_F(Hostile, DeepNestingWithinPathMaxIsAppliedInsideTheRoot) {
  // 2000 levels: the name (4004 bytes) fits PATH_MAX, so the entry is applied; reading it back
  // needs a root-relative open, the absolute path being longer than PATH_MAX.
  std::string name;
  for (int i = 0; i < 2000; ++i)
    name += "d/";
  name += "leaf";
  ASSERT_TRUE(expect_ok(TarBuilder().file(name, "deep").bytes()).ok);
  auto root = fs::Root::open(root_.string());
  ASSERT_TRUE(root);
  auto fd = root->open_at(name, O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().to_string();
  char buf[8] = {};
  EXPECT_EQ(::read(fd->get(), buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf), "deep");
}

TEST_F(Hostile, DeepNestingBeyondPathMaxIsInvalidArgument) {
  std::string name;
  for (int i = 0; i < 3000; ++i)
    name += "d/";
  name += "leaf";
  expect_error(TarBuilder().file(name, "deep").bytes(), Code::InvalidArgument);
  EXPECT_FALSE(stdfs::exists(root_ / "d"));
}

TEST_F(Hostile, EntryNamedDotIsSkipped) {
  ASSERT_TRUE(expect_ok(TarBuilder().dir("./", 0777).dir(".", 0777).file("./x", "x").bytes()).ok);
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
  ASSERT_TRUE(
      expect_ok(TarBuilder().symlink("abs", outside_abs()).file("abs/file", "pwned").bytes()).ok);
  EXPECT_EQ(read_file(root_ / outside_abs("file").substr(1)), "pwned");
}

TEST_F(Hostile, SymlinkToSlashIsTheRoot) {
  ASSERT_TRUE(expect_ok(TarBuilder().symlink("slash", "/").file("slash/etc/x", "in").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "etc/x"), "in");
}

TEST_F(Hostile, SymlinkedParentDirectoryIsFollowedInsideTheRoot) {
  ASSERT_TRUE(
      expect_ok(TarBuilder().dir("real").symlink("sym", "real").file("sym/f", "f").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "real/f"), "f");
}

TEST_F(Hostile, DotDotSymlinkChainStaysInside) {
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .dir("a/b")
                            .symlink("a/b/up", "../../../../../..")
                            .file("a/b/up/etc/passwd", "root::0:0")
                            .bytes())
                  .ok);
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
  ASSERT_TRUE(expect_ok(TarBuilder().symlink("d", "../outside").dir("d", 0777).bytes()).ok);
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
  ASSERT_TRUE(expect_ok(TarBuilder().add(e).bytes()).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "s").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_uid, 4242u);
  }
}

TEST_F(Hostile, SymlinkToOutsideDirThenDirEntryThroughIt) {
  ASSERT_TRUE(expect_ok(TarBuilder().symlink("x", "../outside/dir").dir("x/", 0700).bytes()).ok);
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
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .symlink("s", outside_abs("file"))
                            .hardlink("h", "s")
                            .file("h2", "not through")
                            .bytes())
                  .ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "h").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(st.st_nlink, 2u);
}

TEST_F(Hostile, FileEntryOverHardlinkedSymlinkDoesNotWriteThrough) {
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .symlink("s", outside_abs("file"))
                            .hardlink("h", "s")
                            .file("h", "pwned", 0666)
                            .bytes())
                  .ok);
  EXPECT_EQ(read_file(root_ / "h"), "pwned");
}

TEST_F(Hostile, HardlinkToDirectoryIsAnError) {
  auto msg = expect_error(TarBuilder().dir("d").hardlink("h", "d").bytes(), Code::InvalidArgument);
  EXPECT_NE(msg.find("directory"), std::string::npos) << msg;
}

TEST_F(Hostile, HardlinkToMissingTargetIsNotFound) {
  expect_error(TarBuilder().hardlink("h", "nope").bytes(), Code::NotFound);
}

TEST_F(Hostile, HardlinkReplacesAnExistingPath) {
  ASSERT_TRUE(expect_ok(TarBuilder().file("a", "A").file("b", "B").hardlink("b", "a").bytes()).ok);
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

// Whiteouts act before the layer's own entries: below a symlink the same layer wrote they
// hide nothing (the link replaced whatever was there).
TEST_F(Hostile, WhiteoutBelowASymlinkOfTheSameLayerDoesNothing) {
  write_file(root_ / "outside/file", "inside copy");
  ASSERT_TRUE(expect_ok(TarBuilder().symlink("w", "../outside").file("w/.wh.file", "").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "outside/file"), "inside copy");
  EXPECT_TRUE(stdfs::is_symlink(root_ / "w"));
}

// A symlink a lower layer left: a layer diff never descends one, so a whiteout or opaque marker
// below it is refused rather than followed (or, in an upperdir, turned into a directory).
TEST_F(Hostile, WhiteoutBelowALowerSymlinkIsRefused) {
  write_file(root_ / "target/file", "kept");
  stdfs::create_symlink("target", root_ / "lnk");
  auto msg = expect_error(TarBuilder().file("lnk/.wh.file", "").bytes(), Code::InvalidArgument);
  EXPECT_NE(msg.find("symlink"), std::string::npos) << msg;
  expect_error(TarBuilder().file("lnk/.wh..wh..opq", "").bytes(), Code::InvalidArgument);
  EXPECT_EQ(read_file(root_ / "target/file"), "kept");
  EXPECT_TRUE(stdfs::is_symlink(root_ / "lnk"));
}

TEST_F(Hostile, WhiteoutThroughAbsoluteSymlinkToOutsideRemovesNothingOutside) {
  ASSERT_TRUE(
      expect_ok(TarBuilder().symlink("w", outside_abs()).file("w/.wh.file", "").bytes()).ok);
}

TEST_F(Hostile, OpaqueThroughSymlinkStaysInside) {
  ASSERT_TRUE(
      expect_ok(TarBuilder().symlink("w", outside_abs()).file("w/.wh..wh..opq", "").bytes()).ok);
}

TEST_F(Hostile, WhiteoutDirectoryNameIsAnOrdinaryName) {
  ASSERT_TRUE(expect_ok(TarBuilder().file(".wh.etc/file", "x").bytes()).ok);
  EXPECT_EQ(read_file(root_ / ".wh.etc/file"), "x");
}

// -- duplicates and types -----------------------------------------------------------------------

TEST_F(Hostile, DuplicateFileLastOneWins) {
  ASSERT_TRUE(expect_ok(TarBuilder().file("f", "one").file("f", "two").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "f"), "two");
}

TEST_F(Hostile, FileThenDirectory) {
  ASSERT_TRUE(expect_ok(TarBuilder().file("x", "f").dir("x").file("x/y", "y").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "x/y"), "y");
}

TEST_F(Hostile, DirectoryThenFileReplacesTheTree) {
  ASSERT_TRUE(expect_ok(TarBuilder().dir("x").file("x/y", "y").file("x", "f").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "x"), "f");
}

// Consecutive entries of one directory reuse its fd; an entry that replaces a component the
// directory's path resolves through must make the next one resolve the path again.
TEST_F(Hostile, ParentResolvedThroughAReplacedEntryIsResolvedAgain) {
  expect_error(TarBuilder()
                   .dir("d/n")
                   .symlink("l", "d/n/..")
                   .file("l/n", "replaces d/n")
                   .file("l/m", "must not land in d")
                   .bytes(),
               Code::InvalidArgument);
  EXPECT_FALSE(stdfs::exists(root_ / "d/m"));
}

TEST_F(Hostile, ParentReplacedByAWhiteoutIsResolvedAgain) {
  stdfs::create_directories(root_ / "lower");
  stdfs::create_symlink("lower/x/..", root_ / "l");
  stdfs::create_directories(root_ / "lower/x");
  // "l" resolves to "lower" until the whiteout removes lower/x.
  expect_error(
      TarBuilder().file("l/a", "a").file("l/.wh.x", "").file("l/b", "must not land").bytes(),
      Code::InvalidArgument);
  EXPECT_FALSE(stdfs::exists(root_ / "lower/b"));
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
  ASSERT_TRUE(expect_ok(TarBuilder().add(c).add(b).add(p).bytes()).ok);
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

// Issue 16 item 7: numbers that do not fit the kernel's 12-bit major / 20-bit minor used to be
// truncated, and a device that became 0:0 is a whiteout in an upperdir (the file vanished).
TEST_F(Hostile, OutOfRangeDeviceNumbersAreRefused) {
  struct Case {
    Type type;
    unsigned major, minor;
  };
  for (const Case& k : {Case{Type::Char, 4096, 0}, Case{Type::Block, 1, 1u << 20},
                        Case{Type::Char, 2097151, 2097151}, Case{Type::Block, 4096, 5}}) {
    for (auto mode : {archive::WhiteoutMode::Remove, archive::WhiteoutMode::Overlay}) {
      archive::ApplyOptions opts;
      opts.whiteouts = mode;
      TarEntry d;
      d.type = k.type, d.name = "dev/big", d.major = k.major, d.minor = k.minor;
      std::string msg = expect_error(TarBuilder().add(d).bytes(), Code::InvalidArgument, opts);
      const std::string numbers = std::to_string(k.major) + ":" + std::to_string(k.minor);
      EXPECT_NE(msg.find("dev/big"), std::string::npos) << msg;
      EXPECT_NE(msg.find(numbers), std::string::npos) << msg;
      EXPECT_FALSE(stdfs::exists(root_ / "dev/big")) << numbers;
    }
  }
}

TEST_F(Hostile, ZeroZeroCharDeviceIsRefusedInOverlayMode) {
  archive::ApplyOptions opts;
  opts.whiteouts = archive::WhiteoutMode::Overlay;
  TarEntry c;
  c.type = Type::Char, c.name = "etc/passwd", c.major = 0, c.minor = 0;
  std::string msg = expect_error(TarBuilder().add(c).bytes(), Code::InvalidArgument, opts);
  EXPECT_NE(msg.find("etc/passwd"), std::string::npos) << msg;
  EXPECT_NE(msg.find("whiteout"), std::string::npos) << msg;
  if (::geteuid() != 0)
    GTEST_SKIP() << "mknod of devices needs root (the Remove-mode half)";
  ASSERT_TRUE(expect_ok(TarBuilder().add(c).bytes()).ok) << "Remove mode creates it, as tar does";
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "etc/passwd").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(Hostile, DeviceNodeOverSymlinkToOutside) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "mknod of devices needs root";
  TarEntry c;
  c.type = Type::Char, c.name = "s", c.major = 1, c.minor = 3, c.mode = 0666;
  ASSERT_TRUE(expect_ok(TarBuilder().symlink("s", outside_abs("file")).add(c).bytes()).ok);
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
  auto r = archive::apply(root_.string(), archive::decompressing(string_source(bomb), std::nullopt,
                                                                 {.max_output = 4 << 20}));
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
  ASSERT_TRUE(expect_ok(TarBuilder().add(d).bytes()).ok);
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
  ASSERT_TRUE(expect_ok(TarBuilder().add(s).bytes()).ok);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("user.note"), std::string::npos);
}

// -- more confinement cases -----------------------------------------------------------------

TEST_F(Hostile, FileEntriesResolvingToTheRootAreSkipped) {
  ASSERT_TRUE(
      expect_ok(TarBuilder().file("a/..", "x").file("./.", "y").file("b/c/../..", "z").bytes()).ok);
  EXPECT_TRUE(stdfs::is_directory(root_));
}

TEST_F(Hostile, HardlinkToItselfKeepsTheFile) {
  ASSERT_TRUE(
      apply(TarBuilder().file("f", "keep").hardlink("f", "f").hardlink("./f", "/f").bytes()));
  EXPECT_EQ(read_file(root_ / "f"), "keep");
}

TEST_F(Hostile, HardlinkedSymlinkAsAParentStaysInside) {
  // h is a second name of a symlink to the host's outside/; h/x resolves within the root.
  stdfs::create_directories(root_ / outside_abs().substr(1));
  ASSERT_TRUE(
      apply(TarBuilder().symlink("s", outside_abs()).hardlink("h", "s").file("h/x", "in").bytes()));
  EXPECT_EQ(read_file(root_ / outside_abs("x").substr(1)), "in");
}

TEST_F(Hostile, SymlinkChainClimbingOutStaysInside) {
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .symlink("a", "b/c")
                            .dir("b")
                            .symlink("b/c", "../../../..")
                            .file("a/etc/x", "x")
                            .bytes())
                  .ok);
  EXPECT_EQ(read_file(root_ / "etc/x"), "x");
}

TEST_F(Hostile, DirectoryOverAbsoluteSymlinkToOutsideKeepsOutsideIntact) {
  TarEntry d;
  d.type = Type::Dir, d.name = "d", d.mode = 0777, d.uid = 4242, d.gid = 4242, d.mtime = 5;
  d.xattrs["user.pwned"] = "1";
  ASSERT_TRUE(expect_ok(TarBuilder().symlink("d", outside_abs("dir")).add(d).bytes()).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "d").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0777u);
  EXPECT_EQ(st.st_mtim.tv_sec, 5);
}

TEST_F(Hostile, DirectoryTimesAreNotSetThroughAReplacingSymlink) {
  // d's times are due at the end, but by then d is a symlink to the host's outside/dir.
  TarEntry d;
  d.type = Type::Dir, d.name = "d", d.mtime = 7;
  ASSERT_TRUE(expect_ok(TarBuilder().add(d).symlink("d", outside_abs("dir")).bytes()).ok);
  EXPECT_TRUE(stdfs::is_symlink(root_ / "d"));
}

TEST_F(Hostile, DirectoryTimesThroughAReplacedAncestorStayInside) {
  // a/dir's times are due at the end, but a became a symlink to the host's outside/.
  TarEntry d;
  d.type = Type::Dir, d.name = "a/dir", d.mtime = 7;
  ASSERT_TRUE(expect_ok(TarBuilder().add(d).symlink("a", outside_abs()).bytes()).ok);
}

TEST_F(Hostile, ChmodOfAFifoNeverFollows) {
  // A fifo entry after a symlink of the same name: the link is replaced, the mode lands on the
  // new fifo, never on the symlink's target outside.
  TarEntry p;
  p.type = Type::Fifo, p.name = "p", p.mode = 0777;
  ASSERT_TRUE(expect_ok(TarBuilder().symlink("p", outside_abs("file")).add(p).bytes()).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "p").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0777u);
}

TEST_F(Hostile, WhiteoutUnderAFileHasNothingToHide) {
  write_file(root_ / "f", "lower");
  ASSERT_TRUE(expect_ok(TarBuilder().file("f/.wh.x", "").file("f/.wh..wh..opq", "").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "f"), "lower");
}

TEST_F(Hostile, OpaqueMarkerInAnEscapingDirectoryIsRefused) {
  expect_error(TarBuilder().file("../.wh..wh..opq", "").bytes(), Code::InvalidArgument);
}

TEST_F(Hostile, OverlayWhiteoutBelowASymlinkOfTheSameLayerDoesNothing) {
  archive::ApplyOptions opts;
  opts.whiteouts = archive::WhiteoutMode::Overlay;
  ASSERT_TRUE(
      expect_ok(TarBuilder().symlink("w", outside_abs()).file("w/.wh.file", "").bytes(), opts).ok);
  opts.opaque_xattr = "user.overlay.opaque";
  ASSERT_TRUE(
      expect_ok(TarBuilder().symlink("v", outside_abs("dir")).file("v/.wh..wh..opq", "").bytes(),
                opts)
          .ok);
  EXPECT_TRUE(stdfs::is_symlink(root_ / "w"));
  EXPECT_TRUE(stdfs::is_symlink(root_ / "v"));
}

TEST_F(Hostile, OverlayWhiteoutReplacesASymlinkInsteadOfFollowingIt) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "0:0 character devices need root";
  archive::ApplyOptions opts;
  opts.whiteouts = archive::WhiteoutMode::Overlay;
  opts.parents_unknown = true; // a layer below may have etc/passwd: the marker must be made
  write_file(root_ / "etc/keep", "x");
  stdfs::create_symlink(outside_abs("file"), root_ / "etc/passwd");
  ASSERT_TRUE(expect_ok(TarBuilder().file("etc/.wh.passwd", "").bytes(), opts).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "etc/passwd").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

TEST_F(Hostile, GzipBombStopsAtTheEntrySizeLimit) {
  // No output limit on the decompressor: the 64 MiB entry is refused from its header alone.
  std::string bomb = gzip(TarBuilder().file("zeros", std::string(64 << 20, '\0')).bytes());
  archive::ApplyOptions opts;
  opts.max_total_bytes = 1 << 20;
  auto r = archive::apply(root_.string(), archive::decompressing(string_source(bomb), std::nullopt),
                          opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::ResourceExhausted) << r.error().to_string();
  EXPECT_FALSE(stdfs::exists(root_ / "zeros"));
}

TEST_F(Hostile, EntrySizesAtTheLimitAreAccepted) {
  archive::ApplyOptions opts;
  opts.max_total_bytes = 1200;
  ASSERT_TRUE(
      apply(TarBuilder().file("a", std::string(600, 'a')).file("b", std::string(600, 'b')).bytes(),
            opts));
}

TEST_F(Hostile, OversizedXattrFailsOrWarnsByPolicy) {
  TarEntry f;
  f.name = "f";
  f.xattrs["user.huge"] = std::string(70000, 'x'); // over the kernel's 64 KiB value limit
  archive::ApplyOptions fail;
  fail.unsupported_xattrs = archive::XattrPolicy::Fail;
  auto msg = expect_error(TarBuilder().add(f).bytes(), Code::Internal, fail);
  EXPECT_NE(msg.find("user.huge"), std::string::npos) << msg;
  ASSERT_TRUE(expect_ok(TarBuilder().add(f).bytes()).ok);
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_EQ(read_file(root_ / "f"), "");
}

TEST_F(Hostile, UnknownXattrNamespaceFailsOrWarnsByPolicy) {
  TarEntry f;
  f.name = "f";
  f.xattrs["bogus.name"] = "v";
  archive::ApplyOptions fail;
  fail.unsupported_xattrs = archive::XattrPolicy::Fail;
  expect_error(TarBuilder().add(f).bytes(), Code::NotImplemented, fail);
  ASSERT_TRUE(expect_ok(TarBuilder().add(f).bytes()).ok);
  EXPECT_EQ(warnings_.size(), 1u);
}

TEST_F(Hostile, ASourceThatThrowsIsAnError) {
  contentio::Source throwing = [](std::span<std::byte>) -> Result<std::size_t> {
    throw std::runtime_error("boom");
  };
  auto r = archive::apply(root_.string(), throwing);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("boom"), std::string::npos) << r.error().to_string();
}

} // namespace
} // namespace strata::testing
