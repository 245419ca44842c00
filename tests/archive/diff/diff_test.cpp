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

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <sys/stat.h>
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
  std::string type; // "file", "dir", "link", "hardlink", "other"
  std::int64_t mtime = 0;
  std::string target;
  std::string data;
};

// The entries of a tar, by name, in order.
std::vector<std::pair<std::string, Entry>> read_tar(const std::string& tar) {
  std::vector<std::pair<std::string, Entry>> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_open_memory(a, tar.data(), tar.size());
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Entry x;
    x.mtime = archive_entry_mtime(e);
    if (archive_entry_hardlink(e)) {
      x.type = "hardlink";
      x.target = archive_entry_hardlink(e);
    } else if (archive_entry_filetype(e) == AE_IFDIR) {
      x.type = "dir";
    } else if (archive_entry_filetype(e) == AE_IFLNK) {
      x.type = "link";
      x.target = archive_entry_symlink(e);
    } else if (archive_entry_filetype(e) == AE_IFREG) {
      x.type = "file";
      x.data.resize(static_cast<std::size_t>(archive_entry_size(e)));
      archive_read_data(a, x.data.data(), x.data.size());
    } else {
      x.type = "other";
    }
    out.emplace_back(archive_entry_pathname(e), x);
  }
  archive_read_free(a);
  return out;
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

TEST(SourceDateEpochEnv, ParsesOrRefuses) {
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  auto ok = archive::source_date_epoch_from_env();
  ASSERT_TRUE(ok && *ok);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>((*ok)->time_since_epoch()).count(),
            1700000000);
  ::setenv("SOURCE_DATE_EPOCH", "", 1);
  ASSERT_TRUE(archive::source_date_epoch_from_env());
  EXPECT_FALSE(*archive::source_date_epoch_from_env());
  for (auto bad : {"-5", "12abc", "yesterday"}) {
    ::setenv("SOURCE_DATE_EPOCH", bad, 1);
    auto r = archive::source_date_epoch_from_env();
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos);
  }
  ::unsetenv("SOURCE_DATE_EPOCH");
}

} // namespace
} // namespace strata::testing
