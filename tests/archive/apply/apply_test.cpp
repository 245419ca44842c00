// archive::apply on well-formed layers: content, metadata, whiteouts in both modes, the digest
// of the stream, and the media type / magic tables.
#include "deep_tree.hpp"
#include "sandbox.hpp"

#include <strata/archive/compression.hpp>
#include <strata/digest/sha256.hpp>

#include <sys/sysmacros.h>

namespace strata::testing {
namespace {

using Type = TarEntry::Type;
using archive::Compression;

class Apply : public ApplySandbox {};

TEST_F(Apply, PlainGzipAndZstdLayersGiveTheSameTreeAndTheTarDigest) {
  const std::string tar = TarBuilder()
                              .dir("etc")
                              .file("etc/os-release", "ID=strata\n")
                              .symlink("lib", "usr/lib")
                              .bytes();
  const std::string want = digest::sha256_of(tar);
  for (const auto& [name, blob] : std::vector<std::pair<std::string, std::string>>{
           {"plain", tar}, {"gzip", gzip(tar)}, {"zstd", zstd(tar)}}) {
    SCOPED_TRACE(name);
    stdfs::remove_all(root_);
    stdfs::create_directory(root_);
    auto r = archive::apply(root_.string(),
                            archive::decompressing(string_source(blob, 777), std::nullopt));
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_EQ(r->digest, want);
    EXPECT_EQ(r->size, std::int64_t(tar.size()));
    EXPECT_EQ(r->entries, 3u);
    EXPECT_EQ(read_file(root_ / "etc/os-release"), "ID=strata\n");
    EXPECT_EQ(stdfs::read_symlink(root_ / "lib"), "usr/lib");
  }
}

// Issue 16 item 6's shape at CI size: files each in its own new directory deep down (make_dirs
// opens each real directory below its parent, and re-resolves from the root only at symlinks:
// both a relative and an absolute link in the chain must still land inside root).
TEST_F(Apply, FilesInNewDirectoriesDeepDown) {
  std::string chain;
  for (int i = 0; i < 300; ++i)
    chain += (i ? "/d" : "d");
  TarBuilder b;
  for (int i = 0; i < 20; ++i)
    b.file(chain + "/" + std::to_string(i) + "/f", std::to_string(i));
  b.symlink("d/d/rel", "../..").symlink("d/d/abs", "/d");
  b.file("d/d/rel/d/new/f", "via rel").file("d/d/abs/new2/f", "via abs");
  ASSERT_TRUE(expect_ok(b.bytes()).ok);
  for (int i = 0; i < 20; ++i)
    EXPECT_EQ(read_file(root_ / chain / std::to_string(i) / "f"), std::to_string(i)) << i;
  EXPECT_EQ(read_file(root_ / "d/new/f"), "via rel");
  EXPECT_EQ(read_file(root_ / "d/new2/f"), "via abs");
  EXPECT_FALSE(stdfs::exists(root_.parent_path() / "new2"));
}

// A layer of a few hundred bytes can hold a file 1,900 directories deep: applying it (and
// whiting it out again) must keep a bounded number of fds open, under the usual 1,024 and far
// below it.
TEST_F(Apply, OneFileDeepDownUnderALowFdLimit) {
  std::string chain;
  for (int i = 0; i < 1900; ++i)
    chain += (i ? "/d" : "d");
  const std::string layer = TarBuilder().file(chain + "/f", "deep").bytes();
  FdLimit limit(256);
  ASSERT_TRUE(limit.ok());
  ASSERT_TRUE(expect_ok(layer).ok);
  EXPECT_EQ(read_file(root_ / chain / "f"), "deep");
  ASSERT_TRUE(
      expect_ok(TarBuilder().file(chain + "/.wh.f", "").file("d/.wh..wh..opq", "").bytes()).ok);
  EXPECT_TRUE(stdfs::is_empty(root_ / "d"));
  ASSERT_EQ(::rmdir((root_ / "d").c_str()), 0);
  archive::ApplyOptions overlay;
  overlay.whiteouts = archive::WhiteoutMode::Overlay;
  ASSERT_TRUE(expect_ok(layer, overlay).ok);
  EXPECT_EQ(read_file(root_ / chain / "f"), "deep");
}

TEST_F(Apply, DigestCoversPaddingAfterTheEndOfArchive) {
  std::string tar = TarBuilder().file("a", "a").bytes() + std::string(10240, '\0');
  auto r = apply(tar);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->digest, digest::sha256_of(tar));
  EXPECT_EQ(r->size, std::int64_t(tar.size()));
}

TEST_F(Apply, MissingRootIsFailedPreconditionOrNotFound) {
  auto r = archive::apply((top_ / "nope").string(), string_source(""));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound);
  write_file(root_ / "afile", "x");
  r = archive::apply((root_ / "afile").string(), string_source(""));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::FailedPrecondition);
}

TEST_F(Apply, OwnersModesAndSetuidSurviveChown) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "chown needs root";
  TarEntry e;
  e.name = "bin/su";
  e.data = "su";
  e.mode = 04755;
  e.uid = 1000;
  e.gid = 2000;
  ASSERT_TRUE(expect_ok(TarBuilder().add(e).bytes()).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_uid, 1000u);
  EXPECT_EQ(st.st_gid, 2000u);
}

TEST_F(Apply, NoSameOwnerKeepsTheCallersIds) {
  TarEntry e;
  e.name = "f";
  e.uid = 1234;
  e.gid = 1234;
  archive::ApplyOptions opts;
  opts.no_same_owner = true;
  ASSERT_TRUE(expect_ok(TarBuilder().add(e).bytes(), opts).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, ::geteuid());
}

TEST_F(Apply, DirectoryTimesAreSetAfterTheirChildren) {
  TarEntry d;
  d.type = Type::Dir, d.name = "d", d.mtime = 1000000000;
  TarEntry f;
  f.name = "d/f", f.mtime = 1100000000;
  ASSERT_TRUE(expect_ok(TarBuilder().add(d).add(f).bytes()).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000000);
  ASSERT_EQ(::lstat((root_ / "d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1100000000);
}

TEST_F(Apply, OfTwoEntriesForOneDirectoryTheLaterSetsItsMetadata) {
  TarEntry first, second;
  first.type = second.type = Type::Dir;
  first.name = "d";
  second.name = "d/";
  first.mtime = 1000000000, second.mtime = 1200000000;
  first.mode = 0700, second.mode = 0751;
  ASSERT_TRUE(expect_ok(TarBuilder().add(first).file("d/f", "f").add(second).bytes()).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1200000000);
  EXPECT_EQ(st.st_mode & 07777, 0751u);
  EXPECT_EQ(read_file(root_ / "d/f"), "f");
}

TEST_F(Apply, DirectoryTimesOfNestedDirectoriesAllHold) {
  TarEntry a, b;
  a.type = b.type = Type::Dir;
  a.name = "a", a.mtime = 1000000001;
  b.name = "a/b", b.mtime = 1000000002;
  ASSERT_TRUE(expect_ok(TarBuilder().add(a).add(b).file("a/b/c", "c").bytes()).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000001);
  ASSERT_EQ(::lstat((root_ / "a/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000000002);
}

TEST_F(Apply, NanosecondTimesAndCapabilitiesAreKept) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "security.capability needs root";
  TarEntry f;
  f.name = "bin/ping";
  f.mode = 0755;
  // VFS_CAP_REVISION_2, cap_net_raw permitted+effective.
  f.xattrs["security.capability"] = std::string("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                                                "\x00\x00\x00\x00\x00\x00\x00\x00",
                                                20);
  f.mtime = 1600000000, f.mtime_nsec = 123456789, f.atime = 1650000000;
  ASSERT_TRUE(expect_ok(TarBuilder().add(f).bytes()).ok);
  char v[32];
  EXPECT_EQ(::lgetxattr((root_ / "bin/ping").c_str(), "security.capability", v, sizeof v), 20);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "bin/ping").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(st.st_atim.tv_sec, 1650000000);
}

TEST_F(Apply, XattrsAreApplied) {
  TarEntry f;
  f.name = "f";
  f.xattrs["user.mime"] = "text/plain";
  ASSERT_TRUE(expect_ok(TarBuilder().add(f).bytes()).ok);
  char v[32] = {};
  ASSERT_EQ(::lgetxattr((root_ / "f").c_str(), "user.mime", v, sizeof v), 10);
  EXPECT_EQ(std::string(v), "text/plain");
}

TEST_F(Apply, HardlinksShareAnInode) {
  ASSERT_TRUE(expect_ok(TarBuilder().file("a", "data").hardlink("dir/b", "a").bytes()).ok);
  struct stat a {
  }, b{};
  ASSERT_EQ(::lstat((root_ / "a").c_str(), &a), 0);
  ASSERT_EQ(::lstat((root_ / "dir/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
}

TEST_F(Apply, MissingParentsAreCreated0755) {
  ASSERT_TRUE(expect_ok(TarBuilder().file("x/y/z", "z").bytes()).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "x/y").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

// -- whiteouts, Remove mode -------------------------------------------------------------------

TEST_F(Apply, WhiteoutRemovesALowerFileOrTree) {
  write_file(root_ / "gone", "x");
  write_file(root_ / "tree/a/b", "x");
  ASSERT_TRUE(expect_ok(TarBuilder().file(".wh.gone", "").file(".wh.tree", "").bytes()).ok);
  EXPECT_FALSE(stdfs::exists(root_ / "gone"));
  EXPECT_FALSE(stdfs::exists(root_ / "tree"));
  EXPECT_FALSE(stdfs::exists(root_ / ".wh.gone"));
}

TEST_F(Apply, WhiteoutOfMissingPathIsNoError) {
  ASSERT_TRUE(expect_ok(TarBuilder().file("nodir/.wh.x", "").file(".wh.y", "").bytes()).ok);
}

TEST_F(Apply, OpaqueBeforeEntriesKeepsTheLayersOwnEntries) {
  write_file(root_ / "d/old", "old");
  ASSERT_TRUE(expect_ok(TarBuilder().file("d/.wh..wh..opq", "").file("d/new", "new").bytes()).ok);
  EXPECT_FALSE(stdfs::exists(root_ / "d/old"));
  EXPECT_EQ(read_file(root_ / "d/new"), "new");
}

TEST_F(Apply, OpaqueAfterEntriesKeepsTheLayersOwnEntries) {
  write_file(root_ / "d/old", "old");
  write_file(root_ / "d/sub/old", "old");
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .file("d/new", "new")
                            .file("d/sub/new", "new")
                            .file("d/.wh..wh..opq", "")
                            .bytes())
                  .ok);
  EXPECT_FALSE(stdfs::exists(root_ / "d/old"));
  EXPECT_EQ(read_file(root_ / "d/new"), "new");
  EXPECT_EQ(read_file(root_ / "d/sub/new"), "new");
}

TEST_F(Apply, WhiteoutNeverHidesAnEntryOfTheSameLayer) {
  ASSERT_TRUE(expect_ok(TarBuilder().file("x", "mine").file(".wh.x", "").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "x"), "mine");
  ASSERT_TRUE(expect_ok(TarBuilder().file(".wh.y", "").file("y", "after").bytes()).ok);
  EXPECT_EQ(read_file(root_ / "y"), "after");
}

// -- whiteouts, Overlay mode ------------------------------------------------------------------

TEST_F(Apply, OverlayModeWritesCharDevicesAndOpaqueXattrs) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "0:0 character devices and trusted.* xattrs need root";
  // What the whiteouts act on: a lower layer beside the root, which must not change.
  write_file(top_ / "lower/etc/shadow", "secret");
  write_file(top_ / "lower/var/cache", "x");
  before_ = describe_tree(top_, root_);
  archive::ApplyOptions opts;
  opts.whiteouts = archive::WhiteoutMode::Overlay;
  opts.parents = {(top_ / "lower").string()};
  TarEntry wh;
  wh.name = "etc/.wh.shadow";
  wh.uid = 7;
  wh.gid = 8;
  ASSERT_TRUE(expect_ok(TarBuilder().add(wh).file("var/.wh..wh..opq", "").bytes(), opts).ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "etc/shadow").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  EXPECT_EQ(st.st_uid, 7u);
  char v[4] = {};
  ASSERT_EQ(::lgetxattr((root_ / "var").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
}

TEST_F(Apply, OverlayModeUserxattrOpaque) {
  write_file(top_ / "lower/var/cache", "x");
  before_ = describe_tree(top_, root_);
  archive::ApplyOptions opts;
  opts.whiteouts = archive::WhiteoutMode::Overlay;
  opts.opaque_xattr = "user.overlay.opaque";
  opts.parents = {(top_ / "lower").string()};
  ASSERT_TRUE(expect_ok(TarBuilder().file("var/.wh..wh..opq", "").bytes(), opts).ok);
  char v[4] = {};
  ASSERT_EQ(::lgetxattr((root_ / "var").c_str(), "user.overlay.opaque", v, sizeof v), 1);
}

// umoci replaces a directory by a file and then whites out the old children below the file: in
// an upperdir the file already hides them, so those whiteouts (and an opaque marker) do nothing.
TEST_F(Apply, OverlayModeWhiteoutsBelowAFileDoNothing) {
  archive::ApplyOptions opts;
  opts.whiteouts = archive::WhiteoutMode::Overlay;
  opts.opaque_xattr = "user.overlay.opaque";
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .file("cache", "now a file")
                            .file("cache/.wh.a", "")
                            .file("cache/sub/.wh.b", "")
                            .file("cache/.wh..wh..opq", "")
                            .bytes(),
                        opts)
                  .ok);
  struct stat st {};
  ASSERT_EQ(::lstat((root_ / "cache").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(read_file(root_ / "cache"), "now a file");
}

// -- media types and magic ----------------------------------------------------------------------

TEST(MediaTypes, KnownLayerTypes) {
  auto codec = [](std::string_view mt) { return *archive::compression_of_media_type(mt); };
  EXPECT_EQ(codec("application/vnd.oci.image.layer.v1.tar"), Compression::None);
  EXPECT_EQ(codec("application/vnd.oci.image.layer.v1.tar+gzip"), Compression::Gzip);
  EXPECT_EQ(codec("application/vnd.oci.image.layer.v1.tar+zstd"), Compression::Zstd);
  EXPECT_EQ(codec("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"),
            Compression::Gzip);
  EXPECT_EQ(codec("application/vnd.docker.image.rootfs.diff.tar.gzip"), Compression::Gzip);
  EXPECT_EQ(codec("application/vnd.docker.image.rootfs.diff.tar"), std::nullopt);
}

TEST(MediaTypes, UnknownAndEncryptedAreNotImplemented) {
  for (auto mt : {"application/vnd.oci.image.layer.v1.tar+gzip+encrypted",
                  "application/vnd.oci.image.config.v1+json", "text/plain", ""}) {
    auto r = archive::compression_of_media_type(mt);
    ASSERT_FALSE(r) << mt;
    EXPECT_EQ(r.error().code(), Code::NotImplemented);
  }
}

TEST(MediaTypes, MagicDetection) {
  auto detect = [](std::string s) {
    return archive::detect_compression(std::as_bytes(std::span(s.data(), s.size())));
  };
  EXPECT_EQ(detect(gzip("x")), Compression::Gzip);
  EXPECT_EQ(detect(zstd("x")), Compression::Zstd);
  EXPECT_EQ(detect(std::string("\x50\x2a\x4d\x18", 4)), Compression::Zstd);
  EXPECT_EQ(detect("ustar"), Compression::None);
  EXPECT_EQ(detect(""), Compression::None);
  EXPECT_EQ(archive::to_string(Compression::Zstd), "zstd");
}

TEST(Decompress, ConcatenatedGzipMembersAreOneStream) {
  std::string both = gzip("hello ") + gzip("world");
  auto src = archive::decompressing(string_source(both, 5), Compression::Gzip);
  std::string out;
  std::vector<std::byte> buf(3);
  for (;;) {
    auto n = src(buf);
    ASSERT_TRUE(n) << n.error().to_string();
    if (*n == 0)
      break;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  EXPECT_EQ(out, "hello world");
}

TEST(Decompress, TrailingGarbageAfterGzipIsAnError) {
  auto src = archive::decompressing(string_source(gzip("data") + "garbage!"), std::nullopt);
  std::vector<std::byte> buf(100);
  Result<std::size_t> n = std::size_t{1};
  while (n && *n > 0)
    n = src(buf);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), Code::InvalidArgument);
}

} // namespace
} // namespace strata::testing
