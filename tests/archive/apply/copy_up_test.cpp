// archive::apply in Overlay mode with parents: a hardlink whose target only a lower layer holds
// is copied up into the upperdir (the root) first, merging the layers as overlayfs does
// (whiteouts, opaque directories, non-directories on the path), never following a symlink out
// of a lower. The lowers live beside the root and are sealed into the sandbox's "outside"
// check, so every test also proves that no lower layer was changed (no link, chmod or write).
#include "sandbox.hpp"

#include <sys/sysmacros.h>

namespace strata::testing {
namespace {

class CopyUp : public ApplySandbox {
protected:
  void SetUp() override {
    ApplySandbox::SetUp();
    if (::geteuid() != 0)
      GTEST_SKIP() << "overlay whiteouts (0:0 devices), trusted.* xattrs and chown need root";
  }

  stdfs::path lower(int i) {
    auto p = top_ / ("lower" + std::to_string(i));
    stdfs::create_directories(p);
    return p;
  }

  // Once the lowers are built: from now on they must not change.
  void seal() { before_ = describe_tree(top_, root_); }

  archive::ApplyOptions overlay(std::vector<stdfs::path> parents) {
    archive::ApplyOptions opts;
    opts.whiteouts = archive::WhiteoutMode::Overlay;
    for (const auto& p : parents)
      opts.parents.push_back(p.string());
    return opts;
  }

  static void whiteout(const stdfs::path& p) {
    stdfs::create_directories(p.parent_path());
    ASSERT_EQ(::mknod(p.c_str(), S_IFCHR | 0600, makedev(0, 0)), 0) << p;
  }

  static struct stat lstat_of(const stdfs::path& p) {
    struct stat st {};
    EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
    return st;
  }

  static std::string xattr(const stdfs::path& p, const char* name) {
    char v[256];
    ssize_t n = ::lgetxattr(p.c_str(), name, v, sizeof v);
    return n < 0 ? std::string("<none>") : std::string(v, std::size_t(n));
  }

  bool root_is_empty() { return stdfs::is_empty(root_); }
};

TEST_F(CopyUp, TargetOnlyInTheNearestLower) {
  write_file(lower(0) / "a", "from lower 0");
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder().hardlink("b", "a").bytes(), overlay({lower(0)})).ok);
  EXPECT_EQ(read_file(root_ / "a"), "from lower 0");
  EXPECT_EQ(read_file(root_ / "b"), "from lower 0");
  auto a = lstat_of(root_ / "a"), b = lstat_of(root_ / "b");
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_EQ(a.st_nlink, 2u);
  EXPECT_EQ(lstat_of(lower(0) / "a").st_nlink, 1u) << "the lower's inode must not be shared";
}

TEST_F(CopyUp, TargetOnlyInADeeperLowerAndTheNearestWins) {
  write_file(lower(0) / "other", "x");
  write_file(lower(0) / "both", "near");
  write_file(lower(1) / "d/a", "from lower 1");
  write_file(lower(1) / "both", "far");
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder().hardlink("b", "d/a").hardlink("c", "both").bytes(),
                        overlay({lower(0), lower(1)}))
                  .ok);
  EXPECT_EQ(read_file(root_ / "b"), "from lower 1");
  EXPECT_EQ(read_file(root_ / "d/a"), "from lower 1");
  EXPECT_EQ(read_file(root_ / "c"), "near");
  EXPECT_FALSE(stdfs::exists(root_ / "other"));
}

TEST_F(CopyUp, WhiteoutInANearerLowerHidesTheTarget) {
  whiteout(lower(0) / "a");
  write_file(lower(1) / "a", "hidden");
  whiteout(lower(0) / "d");
  write_file(lower(1) / "d/x", "hidden");
  seal();
  for (const char* target : {"a", "d/x"}) {
    SCOPED_TRACE(target);
    auto msg = expect_error(TarBuilder().hardlink("b", target).bytes(), Code::NotFound,
                            overlay({lower(0), lower(1)}));
    EXPECT_NE(msg.find("whiteout"), std::string::npos) << msg;
    EXPECT_TRUE(root_is_empty()) << describe_tree(root_);
  }
}

TEST_F(CopyUp, WhiteoutInTheUpperdirHidesTheTarget) {
  write_file(lower(0) / "a", "hidden");
  seal();
  // Without parents a whiteout is no target either (it used to be linked as if it were one).
  for (auto opts : {overlay({lower(0)}), overlay({})}) {
    stdfs::remove_all(root_);
    stdfs::create_directory(root_);
    auto msg = expect_error(TarBuilder().file(".wh.a", "").hardlink("b", "a").bytes(),
                            Code::NotFound, opts);
    EXPECT_NE(msg.find("whiteout"), std::string::npos) << msg;
    EXPECT_FALSE(stdfs::exists(root_ / "b"));
  }
}

TEST_F(CopyUp, OpaqueDirectoryInANearerLowerHidesDeeperLowers) {
  stdfs::create_directories(lower(0) / "d");
  ASSERT_EQ(::setxattr((lower(0) / "d").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  write_file(lower(0) / "d/own", "in the opaque layer");
  write_file(lower(1) / "d/a", "hidden");
  seal();
  auto msg = expect_error(TarBuilder().hardlink("b", "d/a").bytes(), Code::NotFound,
                          overlay({lower(0), lower(1)}));
  EXPECT_NE(msg.find("opaque"), std::string::npos) << msg;
  EXPECT_TRUE(root_is_empty()) << describe_tree(root_);
  // What the opaque layer holds itself is found; its opaque xattr is not copied up (the copy of
  // d would hide every lower's d).
  ASSERT_TRUE(
      expect_ok(TarBuilder().hardlink("b", "d/own").bytes(), overlay({lower(0), lower(1)})).ok);
  EXPECT_EQ(read_file(root_ / "b"), "in the opaque layer");
  EXPECT_EQ(xattr(root_ / "d", "trusted.overlay.opaque"), "<none>");
}

TEST_F(CopyUp, OpaqueDirectoryInTheUpperdirHidesTheLowers) {
  write_file(lower(0) / "d/a", "hidden");
  seal();
  expect_error(TarBuilder().file("d/.wh..wh..opq", "").hardlink("b", "d/a").bytes(), Code::NotFound,
               overlay({lower(0)}));
  EXPECT_FALSE(stdfs::exists(root_ / "b"));
}

TEST_F(CopyUp, NonDirectoryOnThePathInANearerLowerHidesDeeperLowers) {
  write_file(lower(0) / "d", "a file now");
  write_file(lower(1) / "d/a", "hidden");
  seal();
  expect_error(TarBuilder().hardlink("b", "d/a").bytes(), Code::NotFound,
               overlay({lower(0), lower(1)}));
  EXPECT_TRUE(root_is_empty());
}

TEST_F(CopyUp, MissingParentDirectoriesGetTheLowersModeOwnerXattrsAndTimes) {
  const auto l = lower(0);
  write_file(l / "p/q/f", "deep");
  ::chown((l / "p").c_str(), 11, 12);
  ::chmod((l / "p").c_str(), 0750);
  ::chown((l / "p/q").c_str(), 13, 14);
  ::chmod((l / "p/q").c_str(), 0555); // read-only: the copy must still get its child
  ASSERT_EQ(::setxattr((l / "p").c_str(), "user.dir", "yes", 3, 0), 0);
  ASSERT_EQ(::setxattr((l / "p").c_str(), "trusted.overlay.origin", "o", 1, 0), 0);
  struct timespec t[2] = {{1100000000, 5}, {1200000000, 7}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (l / "p/q").c_str(), t, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (l / "p").c_str(), t, 0), 0);
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder().hardlink("b", "p/q/f").bytes(), overlay({l})).ok);
  for (const char* d : {"p", "p/q"}) {
    SCOPED_TRACE(d);
    auto want = lstat_of(l / d), got = lstat_of(root_ / d);
    EXPECT_EQ(got.st_mode, want.st_mode);
    EXPECT_EQ(got.st_uid, want.st_uid);
    EXPECT_EQ(got.st_gid, want.st_gid);
    EXPECT_EQ(got.st_mtim.tv_sec, 1200000000);
    EXPECT_EQ(got.st_mtim.tv_nsec, 7);
  }
  EXPECT_EQ(xattr(root_ / "p", "user.dir"), "yes");
  EXPECT_EQ(xattr(root_ / "p", "trusted.overlay.origin"), "<none>");
  EXPECT_EQ(read_file(root_ / "b"), "deep");
}

TEST_F(CopyUp, DirectoriesTheUpperdirHasAreKept) {
  write_file(lower(0) / "p/q/f", "deep");
  ::chmod((lower(0) / "p").c_str(), 0700);
  seal();
  ASSERT_TRUE(
      expect_ok(TarBuilder().dir("p", 0711).hardlink("b", "p/q/f").bytes(), overlay({lower(0)}))
          .ok);
  EXPECT_EQ(lstat_of(root_ / "p").st_mode & 07777, 0711u);
  EXPECT_EQ(lstat_of(root_ / "p/q").st_mode & 07777, 0755u);
  EXPECT_EQ(read_file(root_ / "p/q/f"), "deep");
}

TEST_F(CopyUp, CopiedFileKeepsDataModeOwnerXattrsAndTimes) {
  const auto f = lower(0) / "bin/tool";
  std::string data(300000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7 % 251);
  write_file(f, data);
  ASSERT_EQ(::chown(f.c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chmod(f.c_str(), 04755), 0);
  ASSERT_EQ(::setxattr(f.c_str(), "user.note", "kept", 4, 0), 0);
  ASSERT_EQ(::setxattr(f.c_str(), "trusted.overlay.metacopy", "", 0, 0), 0);
  struct timespec t[2] = {{1300000000, 11}, {1400000000, 123456789}};
  ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), t, 0), 0);
  seal();
  ASSERT_TRUE(
      expect_ok(TarBuilder().hardlink("usr/bin/tool", "bin/tool").bytes(), overlay({lower(0)})).ok);
  auto st = lstat_of(root_ / "bin/tool");
  EXPECT_EQ(read_file(root_ / "usr/bin/tool"), data);
  EXPECT_EQ(st.st_mode, S_IFREG | 04755);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1400000000);
  EXPECT_EQ(st.st_mtim.tv_nsec, 123456789);
  // The lower's atime as the copy-up read it (sealing the lowers read the file already).
  EXPECT_EQ(st.st_atim.tv_sec, lstat_of(f).st_atim.tv_sec);
  EXPECT_EQ(xattr(root_ / "bin/tool", "user.note"), "kept");
  EXPECT_EQ(xattr(root_ / "bin/tool", "trusted.overlay.metacopy"), "<none>");
}

TEST_F(CopyUp, NoSameOwnerLeavesTheCopyToTheCaller) {
  write_file(lower(0) / "a", "x");
  ::chown((lower(0) / "a").c_str(), 1234, 5678);
  seal();
  auto opts = overlay({lower(0)});
  opts.no_same_owner = true;
  ASSERT_TRUE(expect_ok(TarBuilder().hardlink("b", "a").bytes(), opts).ok);
  EXPECT_EQ(lstat_of(root_ / "a").st_uid, ::geteuid());
}

TEST_F(CopyUp, SymlinkIsCopiedAsASymlink) {
  stdfs::create_symlink("/etc/passwd", lower(0) / "s");
  ASSERT_EQ(::lchown((lower(0) / "s").c_str(), 21, 22), 0);
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder().hardlink("h", "s").bytes(), overlay({lower(0)})).ok);
  EXPECT_EQ(stdfs::read_symlink(root_ / "s"), "/etc/passwd");
  auto s = lstat_of(root_ / "s"), h = lstat_of(root_ / "h");
  EXPECT_TRUE(S_ISLNK(h.st_mode));
  EXPECT_EQ(s.st_ino, h.st_ino);
  EXPECT_EQ(s.st_uid, 21u);
  EXPECT_EQ(s.st_gid, 22u);
}

TEST_F(CopyUp, FifoAndDeviceAreCopiedAsNodes) {
  ASSERT_EQ(::mkfifo((lower(0) / "fifo").c_str(), 0640), 0);
  ASSERT_EQ(::mknod((lower(0) / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ::chmod((lower(0) / "null").c_str(), 0666);
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder().hardlink("f2", "fifo").hardlink("n2", "null").bytes(),
                        overlay({lower(0)}))
                  .ok);
  auto f = lstat_of(root_ / "f2"), n = lstat_of(root_ / "n2");
  EXPECT_EQ(f.st_mode, S_IFIFO | 0640);
  EXPECT_EQ(n.st_mode, S_IFCHR | 0666);
  EXPECT_EQ(n.st_rdev, makedev(1, 3));
  EXPECT_EQ(lstat_of(root_ / "null").st_nlink, 2u);
}

TEST_F(CopyUp, DirectoryTargetIsInvalidArgument) {
  stdfs::create_directories(lower(0) / "d");
  seal();
  expect_error(TarBuilder().hardlink("b", "d").bytes(), Code::InvalidArgument, overlay({lower(0)}));
  EXPECT_TRUE(root_is_empty());
}

TEST_F(CopyUp, TwoLinksToOneLowerFileShareOneCopy) {
  write_file(lower(0) / "a", "x");
  seal();
  ASSERT_TRUE(
      expect_ok(TarBuilder().hardlink("b", "a").hardlink("c", "a").bytes(), overlay({lower(0)}))
          .ok);
  EXPECT_EQ(lstat_of(root_ / "a").st_nlink, 3u);
}

TEST_F(CopyUp, OpaqueMarkerAfterTheLinkHidesTheCopyButNotTheLink) {
  write_file(lower(0) / "d/x", "data");
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .hardlink("b", "d/x")
                            .file("d/mine", "mine")
                            .file("d/.wh..wh..opq", "")
                            .bytes(),
                        overlay({lower(0)}))
                  .ok);
  EXPECT_FALSE(stdfs::exists(root_ / "d/x")) << "the copy-up is lower content: opaque hides it";
  EXPECT_EQ(read_file(root_ / "d/mine"), "mine");
  EXPECT_EQ(read_file(root_ / "b"), "data");
  EXPECT_EQ(xattr(root_ / "d", "trusted.overlay.opaque"), "y");
}

TEST_F(CopyUp, RemoveModeIgnoresParents) {
  write_file(lower(0) / "a", "x");
  seal();
  auto opts = overlay({lower(0)});
  opts.whiteouts = archive::WhiteoutMode::Remove;
  expect_error(TarBuilder().hardlink("b", "a").bytes(), Code::NotFound, opts);
  EXPECT_TRUE(root_is_empty());
}

TEST_F(CopyUp, RelativeOrMissingParentIsAnError) {
  archive::ApplyOptions opts;
  opts.whiteouts = archive::WhiteoutMode::Overlay;
  opts.parents = {"relative/lower"};
  expect_error(TarBuilder().hardlink("b", "a").bytes(), Code::InvalidArgument, opts);
  opts.parents = {(top_ / "no-such-lower").string()};
  expect_error(TarBuilder().hardlink("b", "a").bytes(), Code::NotFound, opts);
  EXPECT_TRUE(root_is_empty());
}

// -- hostile lowers ---------------------------------------------------------------------------

TEST_F(CopyUp, SymlinkOnTheTargetsPathInALowerIsNeverFollowed) {
  // Absolute, relative-climbing and in-layer links: none leads the lookup anywhere.
  stdfs::create_directory_symlink(outside_, lower(0) / "abs");
  stdfs::create_directory_symlink("../outside", lower(0) / "rel");
  stdfs::create_directory_symlink("/etc", lower(0) / "etc");
  stdfs::create_directory_symlink("real", lower(0) / "inlayer");
  write_file(lower(0) / "real/file", "in the layer");
  write_file(lower(1) / "abs/file", "deeper, hidden by the symlink");
  seal();
  for (const char* target :
       {"abs/file", "rel/file", "etc/passwd", "inlayer/file", "abs/dir/inner"}) {
    SCOPED_TRACE(target);
    auto msg = expect_error(TarBuilder().hardlink("h", target).bytes(), Code::NotFound,
                            overlay({lower(0), lower(1)}));
    EXPECT_NE(msg.find("symlink"), std::string::npos) << msg;
    EXPECT_TRUE(root_is_empty()) << describe_tree(root_);
  }
}

TEST_F(CopyUp, TargetSymlinkPointingOutsideIsCopiedNotFollowed) {
  stdfs::create_symlink(outside_ / "file", lower(0) / "evil");
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder().hardlink("h", "evil").bytes(), overlay({lower(0)})).ok);
  EXPECT_TRUE(S_ISLNK(lstat_of(root_ / "h").st_mode));
  EXPECT_EQ(stdfs::read_symlink(root_ / "h"), outside_ / "file");
}

TEST_F(CopyUp, SymlinkInTheUpperdirOnTheTargetsPathIsNotFollowedIntoALower) {
  // The layer itself plants d -> /abs/path/of/lower; the copy-up must not walk through it.
  write_file(lower(0) / "x/f", "lower");
  seal();
  expect_error(TarBuilder().symlink("d", (lower(0) / "x").string()).hardlink("h", "d/f").bytes(),
               Code::NotFound, overlay({lower(0)}));
  EXPECT_FALSE(stdfs::exists(root_ / "h"));
}

// Directories an archive implies without holding them (umoci writes no entries for the unchanged
// parents of a changed file): the upperdir gets the merged lowers' directory, as overlayfs copies
// it up before creating in it, not a fresh 0755 root-owned one that would hide the lower's.
TEST_F(CopyUp, ImpliedDirectoriesTakeOwnerModeAndXattrsFromTheMergedLowers) {
  stdfs::create_directories(lower(0) / "p");
  ::chown((lower(0) / "p").c_str(), 11, 12);
  ::chmod((lower(0) / "p").c_str(), 0750);
  ASSERT_EQ(::setxattr((lower(0) / "p").c_str(), "user.dir", "near", 4, 0), 0);
  ASSERT_EQ(::setxattr((lower(0) / "p").c_str(), "trusted.overlay.origin", "o", 1, 0), 0);
  stdfs::create_directories(lower(1) / "p/q");
  ::chmod((lower(1) / "p").c_str(), 0777); // hidden by lower 0's p
  ::chown((lower(1) / "p/q").c_str(), 13, 14);
  ::chmod((lower(1) / "p/q").c_str(), 0700);
  stdfs::create_directories(lower(1) / "r");
  ::chmod((lower(1) / "r").c_str(), 0711);
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder().file("p/q/f", "new").file("r/.wh.gone", "").bytes(),
                        overlay({lower(0), lower(1)}))
                  .ok);
  auto p = lstat_of(root_ / "p"), q = lstat_of(root_ / "p/q"), r = lstat_of(root_ / "r");
  EXPECT_EQ(p.st_mode & 07777, 0750u);
  EXPECT_EQ(p.st_uid, 11u);
  EXPECT_EQ(p.st_gid, 12u);
  EXPECT_EQ(xattr(root_ / "p", "user.dir"), "near");
  EXPECT_EQ(xattr(root_ / "p", "trusted.overlay.origin"), "<none>");
  EXPECT_EQ(q.st_mode & 07777, 0700u);
  EXPECT_EQ(q.st_uid, 13u);
  EXPECT_EQ(q.st_gid, 14u);
  EXPECT_EQ(r.st_mode & 07777, 0711u) << "a whiteout's directory is implied too";
  EXPECT_EQ(read_file(root_ / "p/q/f"), "new");
}

TEST_F(CopyUp, ImpliedDirectoriesNoLowerShowsAreNew0755Directories) {
  whiteout(lower(0) / "gone");
  stdfs::create_directories(lower(1) / "gone");
  stdfs::create_directories(lower(0) / "o");
  ::chmod((lower(0) / "o").c_str(), 0711);
  ASSERT_EQ(::setxattr((lower(0) / "o").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  stdfs::create_directories(lower(1) / "o/s");
  stdfs::create_directories(lower(1) / "u/v");
  stdfs::create_directories(root_ / "u");
  ::chmod((lower(1) / "u/v").c_str(), 0700);
  ::chmod((lower(1) / "gone").c_str(), 0700);
  ::chmod((lower(1) / "o/s").c_str(), 0700);
  seal();
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .file("gone/f", "")
                            .file("o/s/f", "")
                            .file("new/f", "")
                            .dir("u", 0755)
                            .file("u/.wh..wh..opq", "")
                            .file("u/v/f", "")
                            .bytes(),
                        overlay({lower(0), lower(1)}))
                  .ok);
  for (const char* d : {"gone", "o/s", "new", "u/v"}) {
    SCOPED_TRACE(d);
    auto st = lstat_of(root_ / d);
    EXPECT_EQ(st.st_mode & 07777, 0755u) << describe_tree(root_);
    EXPECT_EQ(st.st_uid, 0u);
  }
  EXPECT_EQ(lstat_of(root_ / "o").st_mode & 07777, 0711u) << "the opaque lower's own o counts";
}

TEST_F(CopyUp, ImpliedDirectoryWithParentsUnknownNeedsParent) {
  auto unknown = overlay({});
  unknown.parents_unknown = true;
  for (const auto& tar :
       {TarBuilder().file("a/f", "").bytes(), TarBuilder().file("w/.wh.x", "").bytes(),
        TarBuilder().dir("d").file("d/e/f", "").bytes()}) {
    stdfs::remove_all(root_);
    stdfs::create_directory(root_);
    auto msg = expect_error(tar, Code::NeedsParent, unknown);
    EXPECT_NE(msg.find("apply the layer onto its parent"), std::string::npos) << msg;
  }
  // What the archive holds itself, and what an opaque directory of its own covers, needs no
  // parents.
  stdfs::remove_all(root_);
  stdfs::create_directory(root_);
  ASSERT_TRUE(expect_ok(TarBuilder()
                            .dir("a", 0700)
                            .file("a/f", "")
                            .dir("o")
                            .file("o/.wh..wh..opq", "")
                            .file("o/s/f", "")
                            .bytes(),
                        unknown)
                  .ok);
  EXPECT_EQ(lstat_of(root_ / "a").st_mode & 07777, 0700u);
  EXPECT_EQ(lstat_of(root_ / "o/s").st_mode & 07777, 0755u);
}

} // namespace
} // namespace strata::testing
