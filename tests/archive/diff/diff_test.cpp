// write_diff on small trees: what becomes an entry, a whiteout or nothing; timestamps with and
// without SOURCE_DATE_EPOCH; byte-identical output for identical trees.
#include "tar_builder.hpp"
#include "tree_digest.hpp"

#include <strata/archive/compression.hpp>
#include <strata/archive/diff.hpp>
#include <strata/digest/sha256.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <clocale>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace strata::testing {
namespace {

namespace stdfs = std::filesystem;

void put(const stdfs::path& p, const std::string& data) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

void set_mtime(const stdfs::path& p, std::int64_t secs) {
  struct timespec t[2] = {{secs, 0}, {secs, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << p;
}

struct Entry {
  std::string type; // "file", "dir", "link", "hardlink", "char", "block", "fifo", "other"
  std::int64_t mtime = 0;
  bool mtime_nsec = false;
  bool atime = false, ctime = false;
  std::string target;
  std::string data;
  mode_t perm = 0;
  std::int64_t uid = 0, gid = 0;
  bool uname = false, gname = false;
  unsigned major = 0, minor = 0;
  std::map<std::string, std::string> xattrs;
};

// The entries of a tar, by name, in order.
std::vector<std::pair<std::string, Entry>> read_tar(const std::string& tar) {
  std::vector<std::pair<std::string, Entry>> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, tar.data(), tar.size());
  archive_entry* e = nullptr;
  int rc = ARCHIVE_OK;
  // ARCHIVE_WARN: a UTF-8 name that the test's "C" locale cannot show; the raw bytes are kept.
  while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    Entry x;
    x.mtime = archive_entry_mtime(e);
    x.mtime_nsec = archive_entry_mtime_nsec(e) != 0;
    x.atime = archive_entry_atime_is_set(e);
    x.ctime = archive_entry_ctime_is_set(e);
    x.perm = archive_entry_perm(e);
    x.uid = archive_entry_uid(e);
    x.gid = archive_entry_gid(e);
    x.uname = archive_entry_uname(e) && *archive_entry_uname(e);
    x.gname = archive_entry_gname(e) && *archive_entry_gname(e);
    if (archive_entry_hardlink(e)) {
      x.type = "hardlink";
      x.target = archive_entry_hardlink(e);
    } else {
      switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        x.type = "dir";
        break;
      case AE_IFLNK:
        x.type = "link";
        x.target = archive_entry_symlink(e);
        break;
      case AE_IFREG:
        x.type = "file";
        x.data.resize(static_cast<std::size_t>(archive_entry_size(e)));
        archive_read_data(a, x.data.data(), x.data.size());
        break;
      case AE_IFCHR:
        x.type = "char";
        break;
      case AE_IFBLK:
        x.type = "block";
        break;
      case AE_IFIFO:
        x.type = "fifo";
        break;
      default:
        x.type = "other";
      }
    }
    if (x.type == "char" || x.type == "block") {
      x.major = archive_entry_rdevmajor(e);
      x.minor = archive_entry_rdevminor(e);
    }
    archive_entry_xattr_reset(e);
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
      x.xattrs[name] = std::string(static_cast<const char*>(value), size);
    out.emplace_back(archive_entry_pathname(e), x);
  }
  EXPECT_EQ(rc, ARCHIVE_EOF) << archive_error_string(a);
  archive_read_free(a);
  return out;
}

bool contains(const std::string& haystack, std::string_view needle) {
  return haystack.find(needle) != std::string::npos;
}

class Diff : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-diff-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    top_ = tmpl;
    lower_ = top_ / "lower";
    upper_ = top_ / "upper";
    stdfs::create_directories(lower_);
    stdfs::create_directories(upper_);
  }
  void TearDown() override { stdfs::remove_all(top_); }

  std::string diff(const std::string& lower, const std::string& upper,
                   archive::DiffOptions opts = {}) {
    std::string out;
    auto r = archive::write_diff(
        lower, upper,
        [&](std::span<const std::byte> d) -> Status {
          out.append(reinterpret_cast<const char*>(d.data()), d.size());
          return {};
        },
        opts);
    EXPECT_TRUE(r) << r.error().to_string();
    if (r) {
      EXPECT_EQ(r->size, std::int64_t(out.size()));
      EXPECT_EQ(r->digest, digest::sha256_of(out));
    }
    return out;
  }

  std::map<std::string, Entry> entries(const std::string& tar) {
    std::map<std::string, Entry> m;
    for (auto& [k, v] : read_tar(tar))
      m[k] = v;
    return m;
  }

  stdfs::path top_, lower_, upper_;
};

TEST_F(Diff, AddedModifiedDeletedAndUnchanged) {
  put(lower_ / "same", "same");
  put(lower_ / "changed", "old");
  put(lower_ / "gone", "x");
  put(lower_ / "gonedir/a/b", "x");
  stdfs::copy(lower_ / "same", upper_ / "same", stdfs::copy_options::none);
  set_mtime(lower_ / "same", 1600000000);
  set_mtime(upper_ / "same", 1600000000);
  put(upper_ / "changed", "new!");
  put(upper_ / "new/file", "n");
  auto m = entries(diff(lower_, upper_));
  EXPECT_EQ(m.count("same"), 0u);
  ASSERT_EQ(m.count("changed"), 1u);
  EXPECT_EQ(m["changed"].data, "new!");
  EXPECT_EQ(m["new/"].type, "dir");
  EXPECT_EQ(m["new/file"].data, "n");
  EXPECT_EQ(m[".wh.gone"].type, "file");
  EXPECT_EQ(m[".wh.gonedir"].type, "file");
  EXPECT_EQ(m.count(".wh.gonedir/a"), 0u) << "a deleted tree is one whiteout";
  EXPECT_EQ(m.size(), 5u);
}

TEST_F(Diff, SameSizeAndSecondButDifferentBytesIsAChange) {
  put(lower_ / "f", "aaaa");
  put(upper_ / "f", "bbbb");
  set_mtime(lower_ / "f", 1600000000);
  set_mtime(upper_ / "f", 1600000000);
  EXPECT_EQ(entries(diff(lower_, upper_)).count("f"), 1u);
}

TEST_F(Diff, ParentsOfAChangeAreIncluded) {
  put(lower_ / "a/b/c", "1");
  put(upper_ / "a/b/c", "2");
  set_mtime(lower_ / "a/b/c", 1600000000);
  set_mtime(upper_ / "a/b/c", 1600000001);
  ::chmod((upper_ / "a").c_str(), 0700);
  ::chmod((lower_ / "a").c_str(), 0700);
  auto tar = read_tar(diff(lower_, upper_));
  ASSERT_EQ(tar.size(), 3u);
  EXPECT_EQ(tar[0].first, "a/");
  EXPECT_EQ(tar[1].first, "a/b/");
  EXPECT_EQ(tar[2].first, "a/b/c");
}

TEST_F(Diff, ModeOwnerAndXattrChangesAreChanges) {
  put(lower_ / "m", "x");
  put(upper_ / "m", "x");
  put(lower_ / "x", "x");
  put(upper_ / "x", "x");
  for (auto f : {"m", "x"}) {
    set_mtime(lower_ / f, 1600000000);
    set_mtime(upper_ / f, 1600000000);
  }
  ::chmod((upper_ / "m").c_str(), 0600);
  ASSERT_EQ(::setxattr((upper_ / "x").c_str(), "user.k", "v", 1, 0), 0);
  auto m = entries(diff(lower_, upper_));
  EXPECT_EQ(m.count("m"), 1u);
  EXPECT_EQ(m.count("x"), 1u);
}

TEST_F(Diff, TypeChangesReplaceTheEntry) {
  put(lower_ / "was_dir/child", "c");
  put(lower_ / "was_file", "f");
  put(upper_ / "was_dir", "now a file");
  put(upper_ / "was_file/child", "now a dir");
  auto m = entries(diff(lower_, upper_));
  EXPECT_EQ(m["was_dir"].type, "file");
  EXPECT_EQ(m["was_file/"].type, "dir");
  EXPECT_EQ(m["was_file/child"].type, "file");
}

TEST_F(Diff, HardlinksBecomeLinkEntries) {
  put(upper_ / "a", "shared");
  ASSERT_EQ(::link((upper_ / "a").c_str(), (upper_ / "b").c_str()), 0);
  auto m = entries(diff("", upper_));
  EXPECT_EQ(m["a"].type, "file");
  EXPECT_EQ(m["b"].type, "hardlink");
  EXPECT_EQ(m["b"].target, "a");
}

TEST_F(Diff, NewLinkToAnUnchangedFileKeepsTheLink) {
  put(lower_ / "a", "shared");
  set_mtime(lower_ / "a", 1600000000);
  stdfs::copy(lower_ / "a", upper_ / "a");
  set_mtime(upper_ / "a", 1600000000);
  ASSERT_EQ(::link((upper_ / "a").c_str(), (upper_ / "z").c_str()), 0);
  auto m = entries(diff(lower_, upper_));
  // "a" is unchanged but now shares its inode with new "z": z is written, a links to it.
  EXPECT_EQ(m["z"].type, "file");
  EXPECT_EQ(m["a"].type, "hardlink");
  EXPECT_EQ(m["a"].target, "z");
}

TEST_F(Diff, SymlinksKeepTheirTargetVerbatim) {
  stdfs::create_symlink("../../etc/passwd", upper_ / "l");
  auto m = entries(diff("", upper_));
  EXPECT_EQ(m["l"].type, "link");
  EXPECT_EQ(m["l"].target, "../../etc/passwd");
}

TEST_F(Diff, SourceDateEpochClampsNewerEntriesButNeverWhiteouts) {
  put(lower_ / "deleted", "x");
  put(upper_ / "old", "o");
  put(upper_ / "new", "n");
  set_mtime(upper_ / "old", 1000000000);
  set_mtime(upper_ / "new", 1900000000);
  archive::DiffOptions opts;
  opts.source_date_epoch = Timestamp(std::chrono::seconds(1500000000));
  auto m = entries(diff(lower_, upper_, opts));
  EXPECT_EQ(m["old"].mtime, 1000000000);
  EXPECT_EQ(m["new"].mtime, 1500000000);
  EXPECT_EQ(m[".wh.deleted"].mtime, 0) << "whiteouts keep 1970-01-01 (the seed)";
  auto plain = entries(diff(lower_, upper_));
  EXPECT_EQ(plain[".wh.deleted"].mtime, 0);
  EXPECT_EQ(plain["new"].mtime, 1900000000);
}

// Through the library API too: an epoch out of [0, max_source_date_epoch] is refused before
// anything is written, not clamped to nonsense.
TEST_F(Diff, SourceDateEpochOutOfRangeIsRefusedBeforeWriting) {
  put(upper_ / "f", "x");
  // Above the range no Timestamp exists (its last second is the range's): only below.
  for (Timestamp bad : {Timestamp(std::chrono::seconds(-1)), Timestamp::min(),
                        Timestamp(std::chrono::nanoseconds(-1))}) {
    archive::DiffOptions opts;
    opts.source_date_epoch = bad;
    std::size_t written = 0;
    auto r = archive::write_diff(
        lower_, upper_,
        [&](std::span<const std::byte> d) -> Status {
          written += d.size();
          return {};
        },
        opts);
    ASSERT_FALSE(r) << bad.time_since_epoch().count();
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find("source_date_epoch"), std::string::npos);
    EXPECT_EQ(written, 0u);
  }
  archive::DiffOptions last;
  last.source_date_epoch = Timestamp(std::chrono::seconds(max_source_date_epoch));
  set_mtime(upper_ / "f", 1000);
  EXPECT_EQ(entries(diff(lower_, upper_, last))["f"].mtime, 1000);
}

TEST_F(Diff, SameTreeOnDifferentDaysGivesTheSameBytesWithSourceDateEpoch) {
  auto build = [&](const stdfs::path& dir, std::int64_t when) {
    put(dir / "etc/conf", "c");
    put(dir / "bin/tool", std::string(70000, 't'));
    stdfs::create_symlink("tool", dir / "bin/alias");
    for (auto p : {"etc/conf", "bin/tool", "bin/alias", "etc", "bin"})
      set_mtime(dir / p, when);
  };
  build(top_ / "monday", 1800000000);
  build(top_ / "tuesday", 1800086400);
  put(lower_ / "removed", "r");
  archive::DiffOptions opts;
  opts.source_date_epoch = Timestamp(std::chrono::seconds(1700000000));
  const std::string a = diff(lower_, top_ / "monday", opts);
  const std::string b = diff(lower_, top_ / "tuesday", opts);
  EXPECT_EQ(a, b);
  EXPECT_NE(diff(lower_, top_ / "monday"), diff(lower_, top_ / "tuesday"));
  for (auto codec : {archive::Compression::Gzip, archive::Compression::Zstd}) {
    auto compress = [&](const std::string& data) {
      std::string out;
      auto w = archive::compressing(
          [&](std::span<const std::byte> d) -> Status {
            out.append(reinterpret_cast<const char*>(d.data()), d.size());
            return {};
          },
          codec);
      EXPECT_TRUE(w->write(std::as_bytes(std::span(data.data(), data.size()))));
      EXPECT_TRUE(w->finish());
      EXPECT_FALSE(w->finish());
      return out;
    };
    EXPECT_EQ(compress(a), compress(b)) << archive::to_string(codec);
  }
}

TEST_F(Diff, SinkErrorsAreReturned) {
  put(upper_ / "f", "f");
  auto r = archive::write_diff("", upper_.string(), [](std::span<const std::byte>) -> Status {
    return unavailable("disk on fire");
  });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Unavailable);
}

TEST_F(Diff, MissingUpperIsNotFound) {
  auto r = archive::write_diff("", (top_ / "nope").string(),
                               [](std::span<const std::byte>) -> Status { return {}; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound);
}

void make_socket(const stdfs::path& p) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(p.string().size(), sizeof addr.sun_path);
  std::strncpy(addr.sun_path, p.c_str(), sizeof addr.sun_path - 1);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << p;
  ::close(fd);
}

// security.capability for cap_net_raw+ep (VFS_CAP_REVISION_2): binary, with NUL bytes.
const std::string kNetRawCap("\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00"
                             "\x00\x00\x00\x00\x00\x00\x00\x00",
                             20);

TEST_F(Diff, DevicesFifosOwnersAndSpecialModeBitsAreRecorded) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "device nodes and foreign owners need root";
  ASSERT_EQ(::mknod((upper_ / "null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  ASSERT_EQ(::chmod((upper_ / "null").c_str(), 0666), 0); // past the umask
  ASSERT_EQ(::mknod((upper_ / "loop9").c_str(), S_IFBLK | 0660, makedev(7, 9)), 0);
  ASSERT_EQ(::mknod((upper_ / "bigdev").c_str(), S_IFCHR | 0600, makedev(4000, 400000)), 0);
  ASSERT_EQ(::mkfifo((upper_ / "fifo").c_str(), 0640), 0);
  put(upper_ / "su", "su");
  ASSERT_EQ(::chown((upper_ / "su").c_str(), 1234, 5678), 0);
  ASSERT_EQ(::chmod((upper_ / "su").c_str(), 06755), 0);
  stdfs::create_directory(upper_ / "tmp");
  ASSERT_EQ(::chmod((upper_ / "tmp").c_str(), 01777), 0);
  put(upper_ / "bigid", "b");
  ASSERT_EQ(::chown((upper_ / "bigid").c_str(), 3000000, 4000000), 0);
  auto m = entries(diff("", upper_));
  EXPECT_EQ(m["null"].type, "char");
  EXPECT_EQ(m["null"].major, 1u);
  EXPECT_EQ(m["null"].minor, 3u);
  EXPECT_EQ(m["null"].perm, 0666u);
  EXPECT_EQ(m["loop9"].type, "block");
  EXPECT_EQ(m["loop9"].major, 7u);
  EXPECT_EQ(m["loop9"].minor, 9u);
  EXPECT_EQ(m["bigdev"].major, 4000u);
  EXPECT_EQ(m["bigdev"].minor, 400000u);
  EXPECT_EQ(m["fifo"].type, "fifo");
  EXPECT_EQ(m["fifo"].perm, 0640u);
  EXPECT_EQ(m["su"].perm, 06755u);
  EXPECT_EQ(m["su"].uid, 1234);
  EXPECT_EQ(m["su"].gid, 5678);
  EXPECT_EQ(m["tmp/"].perm, 01777u);
  EXPECT_EQ(m["bigid"].uid, 3000000);
  EXPECT_EQ(m["bigid"].gid, 4000000);
  for (const auto& [name, e] : m) {
    EXPECT_FALSE(e.uname) << name << ": owners are numeric only";
    EXPECT_FALSE(e.gname) << name;
    EXPECT_FALSE(e.atime) << name;
    EXPECT_FALSE(e.ctime) << name;
  }
}

TEST_F(Diff, XattrsAreSchilyRecordsWithoutTheHostsOwn) {
  put(upper_ / "f", "x");
  ASSERT_EQ(::setxattr((upper_ / "f").c_str(), "user.bin", "a\0b", 3, 0), 0);
  ASSERT_EQ(::setxattr((upper_ / "f").c_str(), "user.overlay.origin", "o", 1, 0), 0);
  stdfs::create_directory(upper_ / "d");
  bool root = ::geteuid() == 0;
  if (root) {
    ASSERT_EQ(::setxattr((upper_ / "f").c_str(), "security.capability", kNetRawCap.data(),
                         kNetRawCap.size(), 0),
              0)
        << std::strerror(errno);
    ASSERT_EQ(::setxattr((upper_ / "d").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
    ASSERT_EQ(::setxattr((upper_ / "d").c_str(), "trusted.keep", "t", 1, 0), 0);
  }
  const std::string tar = diff("", upper_);
  auto m = entries(tar);
  EXPECT_EQ(m["f"].xattrs["user.bin"], std::string("a\0b", 3));
  EXPECT_EQ(m["f"].xattrs.count("user.overlay.origin"), 0u);
  EXPECT_TRUE(contains(tar, "SCHILY.xattr.user.bin="));
  EXPECT_FALSE(contains(tar, "LIBARCHIVE.")) << "xattrs are written once, as SCHILY.xattr";
  EXPECT_FALSE(contains(tar, "overlay"));
  if (root) {
    EXPECT_EQ(m["f"].xattrs["security.capability"], kNetRawCap);
    EXPECT_EQ(m["d/"].xattrs["trusted.keep"], "t");
    EXPECT_EQ(m["d/"].xattrs.count("trusted.overlay.opaque"), 0u);
  }
}

TEST_F(Diff, TarHasNoPaddingNorTimesBeyondTheSecond) {
  put(upper_ / "f", "");
  struct timespec t[2] = {{1000000000, 700000000}, {1000000000, 700000000}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (upper_ / "f").c_str(), t, 0), 0);
  const std::string tar = diff("", upper_);
  // One ustar header, no PAX header, then exactly the two zero end-of-archive blocks.
  ASSERT_EQ(tar.size(), 512u + 1024u);
  EXPECT_EQ(tar.substr(512), std::string(1024, '\0'));
  EXPECT_EQ(tar.substr(257, 6), std::string("ustar\0", 6));
  EXPECT_EQ(tar.substr(265, 32), std::string(32, '\0')) << "no user name";
  EXPECT_EQ(tar.substr(297, 32), std::string(32, '\0')) << "no group name";
  auto m = entries(tar);
  EXPECT_EQ(m["f"].mtime, 1000000000);
  EXPECT_FALSE(m["f"].mtime_nsec) << "mtimes are truncated to seconds";
}

TEST_F(Diff, DirectoryMtimeAloneIsNotAChangeButItsModeIs) {
  put(lower_ / "d/f", "same");
  put(upper_ / "d/f", "same");
  set_mtime(lower_ / "d/f", 1600000000);
  set_mtime(upper_ / "d/f", 1600000000);
  set_mtime(lower_ / "d", 1600000000);
  set_mtime(upper_ / "d", 1700000000);
  EXPECT_EQ(diff(lower_, upper_), std::string(1024, '\0')) << "nothing changed";
  ASSERT_EQ(::chmod((upper_ / "d").c_str(), 0700), 0);
  auto tar = read_tar(diff(lower_, upper_));
  ASSERT_EQ(tar.size(), 1u);
  EXPECT_EQ(tar[0].first, "d/");
  EXPECT_EQ(tar[0].second.perm, 0700u);
}

TEST_F(Diff, SocketsAreSkippedButWhatTheyReplaceIsDeleted) {
  stdfs::create_directories(lower_ / "run");
  stdfs::create_directories(upper_ / "run");
  put(lower_ / "was_file", "x");
  make_socket(upper_ / "run/new.sock");
  make_socket(upper_ / "was_file");
  auto tar = read_tar(diff(lower_, upper_));
  ASSERT_EQ(tar.size(), 1u) << "no entry, and no parent directory, for a socket";
  EXPECT_EQ(tar[0].first, ".wh.was_file");
}

TEST_F(Diff, LinksToAnUnchangedPathInADirectoryAlreadyWalkedGetTheirParents) {
  put(lower_ / "d1/a", "shared");
  set_mtime(lower_ / "d1/a", 1600000000);
  put(upper_ / "d1/a", "shared");
  set_mtime(upper_ / "d1/a", 1600000000);
  ASSERT_EQ(::chmod((lower_ / "d1").c_str(), 0750), 0);
  ASSERT_EQ(::chmod((upper_ / "d1").c_str(), 0750), 0);
  stdfs::create_directories(upper_ / "d2");
  ASSERT_EQ(::link((upper_ / "d1/a").c_str(), (upper_ / "d2/b").c_str()), 0);
  auto tar = read_tar(diff(lower_, upper_));
  ASSERT_EQ(tar.size(), 4u);
  EXPECT_EQ(tar[0].first, "d2/");
  EXPECT_EQ(tar[1].first, "d2/b");
  EXPECT_EQ(tar[1].second.type, "file");
  EXPECT_EQ(tar[2].first, "d1/");
  EXPECT_EQ(tar[2].second.perm, 0750u);
  EXPECT_EQ(tar[3].first, "d1/a");
  EXPECT_EQ(tar[3].second.type, "hardlink");
  EXPECT_EQ(tar[3].second.target, "d2/b");
}

TEST_F(Diff, HardlinkedSymlinksAndFifosStayLinked) {
  stdfs::create_symlink("target", upper_ / "s1");
  ASSERT_EQ(::linkat(AT_FDCWD, (upper_ / "s1").c_str(), AT_FDCWD, (upper_ / "s2").c_str(), 0), 0);
  ASSERT_EQ(::mkfifo((upper_ / "p1").c_str(), 0600), 0);
  ASSERT_EQ(::link((upper_ / "p1").c_str(), (upper_ / "p2").c_str()), 0);
  auto m = entries(diff("", upper_));
  EXPECT_EQ(m["s1"].type, "link");
  EXPECT_EQ(m["s1"].target, "target");
  EXPECT_EQ(m["s2"].type, "hardlink");
  EXPECT_EQ(m["s2"].target, "s1");
  EXPECT_EQ(m["p1"].type, "fifo");
  EXPECT_EQ(m["p2"].type, "hardlink");
  EXPECT_EQ(m["p2"].target, "p1");
}

TEST_F(Diff, LongAndNonAsciiNamesDoNotDependOnTheLocale) {
  const std::string long_dir(120, 'd');
  put(upper_ / long_dir / std::string(150, 'f'), "long");
  put(upper_ / "caf\xc3\xa9", "utf-8");
  put(upper_ / "raw\xff", "not utf-8");
  stdfs::create_symlink(std::string(200, 't'), upper_ / "longlink");
  for (const auto& e : stdfs::recursive_directory_iterator(upper_))
    set_mtime(e.path(), 1600000000);
  const std::string saved = std::setlocale(LC_ALL, nullptr);
  std::setlocale(LC_ALL, "C");
  const std::string in_c = diff("", upper_);
  const bool have_utf8 = std::setlocale(LC_ALL, "C.UTF-8") != nullptr;
  const std::string in_utf8 = diff("", upper_);
  std::setlocale(LC_ALL, saved.c_str());
  if (have_utf8) {
    EXPECT_EQ(in_c, in_utf8);
  }
  auto m = entries(in_c);
  EXPECT_EQ(m[long_dir + "/" + std::string(150, 'f')].data, "long");
  EXPECT_EQ(m["caf\xc3\xa9"].data, "utf-8");
  EXPECT_EQ(m["longlink"].target, std::string(200, 't'));
}

TEST_F(Diff, GzipAndZstdOutputIsDeterministicAndDecompresses) {
  put(upper_ / "f", std::string(100000, 'z'));
  set_mtime(upper_ / "f", 1600000000);
  const std::string tar = diff("", upper_);
  for (auto codec :
       {archive::Compression::None, archive::Compression::Gzip, archive::Compression::Zstd}) {
    std::string out;
    auto w = archive::compressing(
        [&](std::span<const std::byte> d) -> Status {
          out.append(reinterpret_cast<const char*>(d.data()), d.size());
          return {};
        },
        codec);
    // In uneven pieces, to cross the codec's buffer boundaries.
    for (std::size_t at = 0; at < tar.size(); at += 7777)
      ASSERT_TRUE(w->write(
          std::as_bytes(std::span(tar.data() + at, std::min<std::size_t>(7777, tar.size() - at)))));
    ASSERT_TRUE(w->finish());
    auto again = w->finish();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), Code::FailedPrecondition);
    if (codec == archive::Compression::Gzip) {
      // No name, mtime 0, OS "unknown": nothing about the host or the time.
      EXPECT_EQ(out.substr(0, 10), std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff", 10));
    }
    if (codec == archive::Compression::None)
      EXPECT_EQ(out, tar);
    else
      EXPECT_LT(out.size(), tar.size() / 10) << archive::to_string(codec);
    auto src = archive::decompressing(string_source(out, 999), std::nullopt);
    std::string back;
    std::vector<std::byte> buf(4096);
    for (;;) {
      auto n = src(buf);
      ASSERT_TRUE(n) << n.error().to_string();
      if (*n == 0)
        break;
      back.append(reinterpret_cast<const char*>(buf.data()), *n);
    }
    EXPECT_EQ(back, tar) << archive::to_string(codec);
  }
}

TEST_F(Diff, IdenticalTreesGiveIdenticalBytes) {
  auto build = [&](const stdfs::path& d) {
    put(d / "a/b/c", "c");
    put(d / "a/x", std::string(5000, 'x'));
    ASSERT_EQ(::link((d / "a/x").c_str(), (d / "hl").c_str()), 0);
    stdfs::create_symlink("a/x", d / "sl");
    ASSERT_EQ(::setxattr((d / "a/b/c").c_str(), "user.k", "v", 1, 0), 0);
    for (const auto& e : stdfs::recursive_directory_iterator(d))
      set_mtime(e.path(), 1650000000);
  };
  build(top_ / "one");
  build(top_ / "two");
  put(lower_ / "a/gone", "g");
  const std::string first = diff(lower_, top_ / "one");
  EXPECT_EQ(first, diff(lower_, top_ / "one")) << "the same trees twice";
  EXPECT_EQ(first, diff(lower_, top_ / "two")) << "equal trees made separately";
}

TEST_F(Diff, WhiteoutsAreEmptyFilesDatedTheEpoch) {
  put(lower_ / "dir/deleted", "x");
  put(upper_ / "dir/kept", "k");
  archive::DiffOptions opts;
  opts.source_date_epoch = Timestamp(std::chrono::seconds(1500000000));
  const std::string tar = diff(lower_, upper_, opts);
  auto m = entries(tar);
  ASSERT_EQ(m.count("dir/.wh.deleted"), 1u);
  const Entry& wh = m["dir/.wh.deleted"];
  EXPECT_EQ(wh.type, "file");
  EXPECT_EQ(wh.data, "");
  EXPECT_EQ(wh.mtime, 0);
  EXPECT_FALSE(wh.atime);
  EXPECT_FALSE(wh.ctime);
  EXPECT_EQ(m["dir/"].type, "dir") << "a whiteout's parent is included";
}

TEST(SourceDateEpochEnv, ParsesOrRefuses) {
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  auto ok = archive::source_date_epoch_from_env();
  ASSERT_TRUE(ok && *ok);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>((*ok)->time_since_epoch()).count(),
            1700000000);
  ::setenv("SOURCE_DATE_EPOCH", "", 1);
  ASSERT_TRUE(archive::source_date_epoch_from_env());
  EXPECT_FALSE(*archive::source_date_epoch_from_env());
  for (auto bad : {"-5", "12abc", "yesterday", "+5", " 5", "99999999999999999999999",
                   "99999999999999", "9223372037", "-9223372036854775808", "253402300799"}) {
    ::setenv("SOURCE_DATE_EPOCH", bad, 1);
    auto r = archive::source_date_epoch_from_env();
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos);
  }
  ::unsetenv("SOURCE_DATE_EPOCH");
}

} // namespace
} // namespace strata::testing
