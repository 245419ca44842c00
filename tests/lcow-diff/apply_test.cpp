// The lcow differ end to end: layers from tests/support/tar_builder ingested into a real content
// store, converted to layer.vhd, and the image checked by real tools: the VHD footer parsed here
// and by qemu-img, e2fsck -fn, debugfs, and a read-only loop mount whose tree must equal the same
// tar applied by lib/archive (overlay whiteouts) onto a directory.
#include "command.hpp"
#include "differ.hpp"
#include "scratch_dir.hpp"
#include "status_assert.hpp"
#include "store.hpp"
#include "tar_builder.hpp"
#include "tree_digest.hpp"
#include "vhd_footer.hpp"

#include <strata/archive/apply.hpp>
#include <strata/contentio/ingest.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/mount/temp.hpp>

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace {

namespace stdfs = std::filesystem;
using strata::Code;
using strata::Descriptor;
using strata::Mount;
using strata::testing::TarBuilder;
using strata::testing::TarEntry;

constexpr std::uint64_t MiB = 1 << 20;

std::uint64_t be(const std::string& s, std::size_t off, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}

std::string tool(const std::string& name) {
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"})
    if (::access((std::string(dir) + name).c_str(), X_OK) == 0)
      return std::string(dir) + name;
  return {};
}

// The big file: a pattern throughout (so its blocks really span two block groups of 128 MiB);
// the sparse one: zeros but for two pieces, which stay holes in the image.
constexpr std::uint64_t big_size = 130 * MiB + 4321;
constexpr std::uint64_t sparse_size = 64 * MiB + 100;
std::string patterned(std::uint64_t size, std::uint64_t from, std::uint64_t len) {
  std::string s(size, '\0');
  for (std::uint64_t i = from; i < from + len && i < size; ++i)
    s[i] = static_cast<char>('a' + i % 23);
  return s;
}
std::string big_content() {
  return patterned(big_size, 0, big_size);
}
std::string sparse_content() {
  std::string s = patterned(sparse_size, 0, 5000);
  for (std::uint64_t i = sparse_size - 100; i < sparse_size; ++i)
    s[i] = 'z';
  return s;
}

class LcowApply : public ::testing::Test {
protected:
  void SetUp() override {
    auto store = strata::content::LocalStore::open(scratch_.path() + "/content");
    ASSERT_TRUE(store) << store.error().to_string();
    store_ = *store;
    layer_ = scratch_.dir("layer");
  }

  Descriptor ingest(const std::string& blob, const std::string& media_type) {
    const Descriptor d{media_type, strata::digest::sha256_of(blob), std::int64_t(blob.size()), {}};
    STRATA_EXPECT_OK(strata::contentio::ingest(*store_, "test-" + d.digest, d,
                                               strata::testing::string_source(blob)));
    return d;
  }

  strata::lcow::LcowDiffer differ(strata::lcow::Config config = {}) {
    return strata::lcow::LcowDiffer(store_, std::move(config));
  }

  std::vector<Mount> lcow_mount() const {
    return {Mount{"lcow-layer", layer_, "", {"rw", "parentLayerPaths=null"}}};
  }

  // Names in the layer directory (so a test sees leftovers of a failed apply).
  std::vector<std::string> layer_files() const {
    std::vector<std::string> out;
    for (const auto& e : stdfs::directory_iterator(layer_))
      out.push_back(e.path().filename().string());
    return out;
  }

  strata::testing::Scratch scratch_{"strata-lcow-"};
  std::shared_ptr<strata::content::LocalStore> store_;
  std::string layer_;
};

TarEntry entry(TarEntry::Type type, std::string name, mode_t mode) {
  TarEntry e;
  e.type = type;
  e.name = std::move(name);
  e.mode = mode;
  return e;
}

// Every entry kind, out of order, whiteouts before their directories, an opaque directory.
std::string every_kind_layer() {
  using T = TarEntry::Type;
  TarBuilder b;
  // A file and a whiteout before their directory: "late" is made implicitly; its entry (mode
  // 0750, owner 1000:1000) comes at the end.
  b.file("late/inner.txt", "inner\n").file("late/.wh.ghost", "").dir("etc");
  TarEntry host = entry(T::File, "etc/hostname", 0644);
  host.data = "strata\n";
  host.mtime = 1700000123;
  host.mtime_nsec = 123456789;
  host.atime = 1700000456;
  b.add(host);
  b.file("empty", "").file("bin/suid", std::string(10000, 'x'), 04755).file("bin/sgid", "g", 02711);
  TarEntry owned = entry(T::File, "owned", 0600);
  owned.data = "big ids";
  owned.uid = 100000;
  owned.gid = 70000;
  b.add(owned);
  TarEntry small = entry(T::File, "xattrs/small", 0644);
  small.data = "s";
  small.xattrs["user.small"] = "v";
  b.add(small);
  TarEntry large = entry(T::File, "xattrs/large", 0644);
  large.data = "l";
  large.xattrs["user.a"] = std::string(300, 'a'); // beyond the inode: an xattr block
  large.xattrs["user.b"] = "b";
  b.add(large);
  b.hardlink("etc/hostname.link", "etc/hostname")
      .symlink("short", "etc/hostname")
      .symlink("long", "/" + std::string(120, 'l') + "/target")
      .hardlink("short.link", "short"); // a hardlink to a symlink
  TarEntry null = entry(T::Char, "dev/null", 0666);
  null.major = 1;
  null.minor = 3;
  b.add(null);
  TarEntry big_dev = entry(T::Block, "dev/big", 0660);
  big_dev.major = 259;
  big_dev.minor = 300000; // needs the new device encoding
  b.add(big_dev);
  b.add(entry(T::Fifo, "dev/fifo", 0644));
  b.file("opaque/.wh..wh..opq", "") // the marker before its directory
      .dir("opaque", 0711)
      .file("opaque/kept", "kept")
      .file("big", big_content())
      .file("sparse", sparse_content());
  // Many names in one directory: it grows beyond one block.
  for (int i = 0; i < 300; ++i)
    b.file("many/file-with-a-longish-name-" + std::to_string(i), std::to_string(i));
  TarEntry late = entry(T::Dir, "late", 0750);
  late.uid = 1000;
  late.gid = 1000;
  b.add(late);
  TarEntry xdir = entry(T::Dir, "xattrs", 0755);
  xdir.xattrs["user.dir"] = "d";
  b.add(xdir);
  return b.bytes();
}

TEST(VhdFooter, GeometryAndChecksumFollowTheSpec) {
  // The research's example: 135 168 bytes -> (3, 4, 17).
  auto g = strata::lcow::vhd_geometry(135168);
  EXPECT_EQ(g.cylinders, 3);
  EXPECT_EQ(g.heads, 4);
  EXPECT_EQ(g.sectors_per_track, 17);
  g = strata::lcow::vhd_geometry(std::uint64_t(127) << 30);
  EXPECT_EQ(g.heads, 16);
  EXPECT_EQ(g.sectors_per_track, 255);
  std::array<std::byte, 16> id{};
  id[0] = std::byte{0xab};
  auto f = strata::lcow::vhd_footer(135168, 7, id);
  EXPECT_EQ(std::memcmp(f.data(), "conectix", 8), 0);
  std::string s(reinterpret_cast<const char*>(f.data()), f.size());
  EXPECT_EQ(be(s, 64, 4), strata::lcow::vhd_checksum(f));
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (i < 64 || i >= 68)
      sum += static_cast<unsigned char>(s[i]);
  EXPECT_EQ(be(s, 64, 4), std::uint32_t(~sum));
  EXPECT_EQ(be(s, 24, 4), 7u);
  EXPECT_EQ(static_cast<unsigned char>(s[68]), 0xab);
}

TEST_F(LcowApply, EveryEntryKindBecomesAValidImage) {
  for (const char* t : {"e2fsck", "debugfs", "qemu-img"})
    if (tool(t).empty())
      GTEST_SKIP() << t << " is not installed (scripts/setup.sh installs it)";
  const std::string tar = every_kind_layer();
  const auto desc = ingest(tar, strata::media_type::layer_tar);
  strata::ApplyOptions opts;
  opts.diff_id = strata::digest::sha256_of(tar);
  auto r = differ().apply(desc, lcow_mount(), opts);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->media_type, strata::media_type::layer_tar);
  EXPECT_EQ(r->digest, opts.diff_id);
  EXPECT_EQ(r->size, std::int64_t(tar.size()));
  EXPECT_EQ(layer_files(), std::vector<std::string>{"layer.vhd"});

  const std::string vhd = layer_ + "/layer.vhd";
  struct stat st {};
  ASSERT_EQ(::stat(vhd.c_str(), &st), 0);
  const auto file_size = static_cast<std::uint64_t>(st.st_size);
  const std::uint64_t disk = file_size - 512;
  // Compact: the content (130 MiB of data; the sparse file's holes take no blocks) plus small
  // slack, not a huge sparse file; and the filesystem ends where the footer starts.
  EXPECT_EQ(disk % 4096, 0u);
  EXPECT_LT(disk, big_size + 12 * MiB);
  EXPECT_GT(disk, big_size);

  // The footer, field by field.
  std::string footer(512, '\0');
  {
    std::ifstream in(vhd, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(disk));
    in.read(footer.data(), 512);
    std::string sb(1024, '\0');
    in.seekg(1024);
    in.read(sb.data(), 1024);
    std::uint32_t blocks = 0;
    std::memcpy(&blocks, sb.data() + 4, 4); // s_blocks_count_lo, little-endian
    EXPECT_EQ(std::uint64_t(blocks) * 4096, disk);
  }
  EXPECT_EQ(footer.substr(0, 8), "conectix");
  EXPECT_EQ(be(footer, 8, 4), 2u);
  EXPECT_EQ(be(footer, 12, 4), 0x00010000u);
  EXPECT_EQ(be(footer, 16, 8), ~std::uint64_t(0));
  EXPECT_EQ(be(footer, 40, 8), disk);
  EXPECT_EQ(be(footer, 48, 8), disk);
  EXPECT_EQ(be(footer, 60, 4), 2u);
  const auto g = strata::lcow::vhd_geometry(disk);
  EXPECT_EQ(be(footer, 56, 2), g.cylinders);
  EXPECT_EQ(be(footer, 58, 1), g.heads);
  EXPECT_EQ(be(footer, 59, 1), g.sectors_per_track);
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 512; ++i)
    if (i < 64 || i >= 68)
      sum += static_cast<unsigned char>(footer[i]);
  EXPECT_EQ(be(footer, 64, 4), std::uint32_t(~sum));

  // qemu reads it as a VHD of the same size.
  std::string out, err;
  EXPECT_EQ(
      strata::testing::run_command({tool("qemu-img"), "info", "--output=json", "--image-opts",
                                    "driver=vpc,force_size_calc=current_size,file.filename=" + vhd},
                                   &out, &err),
      0)
      << err;
  EXPECT_NE(out.find("\"virtual-size\": " + std::to_string(disk)), std::string::npos) << out;
  EXPECT_NE(out.find("\"format\": \"vpc\""), std::string::npos) << out;
  // Creator "win ": qemu before 10 sizes it by the current size without being told to.
  out.clear();
  EXPECT_EQ(strata::testing::run_command(
                {tool("qemu-img"), "info", "--output=json", "-f", "vpc", vhd}, &out, &err),
            0)
      << err;
  EXPECT_NE(out.find("\"virtual-size\": " + std::to_string(disk)), std::string::npos) << out;

  // e2fsck finds nothing to fix (the footer after the filesystem does not matter to it).
  out.clear();
  err.clear();
  EXPECT_EQ(strata::testing::run_command({tool("e2fsck"), "-fn", vhd}, &out, &err), 0)
      << out << err;

  // debugfs sees the inodes as the layer has them.
  auto debugfs = [&](const std::string& request) {
    std::string o, e;
    EXPECT_EQ(strata::testing::run_command({tool("debugfs"), "-R", request, vhd}, &o, &e), 0) << e;
    return o + e;
  };
  std::string s = debugfs("stat /owned");
  EXPECT_NE(s.find("User: 100000"), std::string::npos) << s;
  EXPECT_NE(s.find("Group: 70000"), std::string::npos) << s;
  s = debugfs("stat /etc/hostname");
  EXPECT_NE(s.find("Links: 2"), std::string::npos) << s;
  EXPECT_NE(s.find("mtime: 0x6553f17b:1d6f3454"), std::string::npos) << s; // 123456789 ns << 2
  s = debugfs("stat /late/ghost");
  EXPECT_NE(s.find("Type: character special"), std::string::npos) << s;
  EXPECT_NE(s.find("Device major/minor number: 00:00"), std::string::npos) << s;
  s = debugfs("ea_list /opaque");
  EXPECT_NE(s.find("trusted.overlay.opaque (1) = \"y\""), std::string::npos) << s;
  s = debugfs("stat /xattrs/large");
  EXPECT_NE(s.find("File ACL: "), std::string::npos) << s;
  EXPECT_EQ(s.find("File ACL: 0"), std::string::npos) << "xattrs beyond the inode need a block\n"
                                                      << s;
  s = debugfs("stat /xattrs/small");
  EXPECT_NE(s.find("File ACL: 0"), std::string::npos) << "a small xattr stays in the inode\n" << s;
  EXPECT_NE(s.find("user.small (1) = \"v\""), std::string::npos) << s;
  s = debugfs("stat /big");
  EXPECT_NE(s.find("Size: " + std::to_string(big_size)), std::string::npos) << s;
  {
    // Extents "(logical-range):first-last": the data reaches beyond block 32767, the end of
    // the first block group (a group holds 32768 blocks of 4 KiB, 128 MiB).
    std::uint64_t last_block = 0;
    for (std::size_t at = s.find("):"); at != std::string::npos; at = s.find("):", at + 2)) {
      std::size_t end = at + 2;
      while (end < s.size() && (std::isdigit(static_cast<unsigned char>(s[end])) || s[end] == '-'))
        ++end;
      const std::string range = s.substr(at + 2, end - at - 2);
      if (range.empty())
        continue;
      last_block = std::max<std::uint64_t>(
          last_block, std::stoull(range.substr(
                          range.rfind('-') == std::string::npos ? 0 : range.rfind('-') + 1)));
    }
    EXPECT_GE(last_block, 32768u) << s;
  }
  s = debugfs("stat /sparse");
  EXPECT_NE(s.find("Blockcount: 24\n"), std::string::npos) << "2 + 1 blocks of data\n" << s;
  s = debugfs("stat /long");
  EXPECT_NE(s.find("EXTENTS"), std::string::npos) << "a long symlink has a data block\n" << s;
  s = debugfs("stat /short");
  EXPECT_NE(s.find("Fast link dest: \"etc/hostname\""), std::string::npos) << s;

  if (::geteuid() != 0)
    GTEST_SKIP() << "the loop mount needs root";
  // The same tar applied by lib/archive onto a directory, plus the lost+found every ext4 image
  // has. With no layer below, lib/archive leaves no whiteout markers: the tree comparison
  // leaves them out, and they are checked on the mount one by one.
  const std::string expected = scratch_.dir("expected");
  strata::archive::ApplyOptions aopts;
  aopts.whiteouts = strata::archive::WhiteoutMode::Overlay;
  STRATA_ASSERT_OK(strata::archive::apply(expected, strata::testing::string_source(tar), aopts));
  ASSERT_EQ(::mkdir((expected + "/lost+found").c_str(), 0700), 0);

  auto mounted =
      strata::mount::TempMount::create({Mount{"ext4", vhd, "", {"loop", "ro"}}}, scratch_.path());
  ASSERT_TRUE(mounted) << mounted.error().to_string();
  strata::testing::TreeDigestOptions topts;
  topts.mtimes = true;
  topts.skip_whiteout_devices = true;
  topts.exclude_xattrs.push_back("trusted.overlay.");
  auto want = strata::testing::tree_listing(expected, topts);
  auto got = strata::testing::tree_listing(mounted->path(), topts);
  ASSERT_TRUE(want) << want.error().to_string();
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(*got, *want);
  // The whiteout and the opaque directory as overlayfs reads them.
  struct stat ws {};
  ASSERT_EQ(::lstat((mounted->path() + "/late/ghost").c_str(), &ws), 0);
  EXPECT_TRUE(S_ISCHR(ws.st_mode));
  EXPECT_EQ(ws.st_rdev, makedev(0, 0));
  char value[8] = {};
  EXPECT_EQ(::lgetxattr((mounted->path() + "/opaque").c_str(), "trusted.overlay.opaque", value,
                        sizeof value),
            1);
  EXPECT_EQ(value[0], 'y');
  // Nanosecond mtimes and the big file's bytes, read back through the kernel.
  struct stat hs {};
  ASSERT_EQ(::stat((mounted->path() + "/etc/hostname").c_str(), &hs), 0);
  EXPECT_EQ(hs.st_mtim.tv_nsec, 123456789);
  EXPECT_EQ(hs.st_atim.tv_sec, 1700000456);
  EXPECT_EQ(strata::testing::read_file(mounted->path() + "/big"), big_content());
  EXPECT_EQ(strata::testing::read_file(mounted->path() + "/sparse"), sparse_content());
  STRATA_EXPECT_OK(mounted->release());
}

TEST_F(LcowApply, GzipLayerThroughTheDecompressor) {
  const std::string tar = TarBuilder().dir("d").file("d/f", "hello\n").bytes();
  const auto desc = ingest(strata::testing::gzip(tar), strata::media_type::layer_tar_gzip);
  auto r = differ().apply(desc, lcow_mount(), {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->digest, strata::digest::sha256_of(tar));
  EXPECT_EQ(r->size, std::int64_t(tar.size()));
  EXPECT_EQ(layer_files(), std::vector<std::string>{"layer.vhd"});
  std::string out;
  if (!tool("debugfs").empty()) {
    EXPECT_EQ(strata::testing::run_command(
                  {tool("debugfs"), "-R", "cat /d/f", layer_ + "/layer.vhd"}, &out),
              0);
    EXPECT_EQ(out, "hello\n");
  }
}

// Later entries win, as a tar extracted in order would have it: a file written twice, a file
// replaced by a directory, a whiteout over a file of the same layer; a hardlink made before the
// replacement keeps the old inode. e2fsck then proves the freed blocks and inodes are accounted.
TEST_F(LcowApply, LaterEntriesReplaceEarlierOnes) {
  for (const char* t : {"e2fsck", "debugfs"})
    if (tool(t).empty())
      GTEST_SKIP() << t << " is not installed (scripts/setup.sh installs it)";
  const std::string tar = TarBuilder()
                              .file("twice", std::string(20000, '1'))
                              .hardlink("old", "twice")
                              .file("twice", "second")
                              .file("once", std::string(9000, 'o'))
                              .file("now-a-dir", std::string(9000, 'd'))
                              .dir("now-a-dir")
                              .file("now-a-dir/f", "f")
                              .file("gone", std::string(9000, 'g'))
                              .file(".wh.gone", "")
                              .bytes();
  const auto desc = ingest(tar, strata::media_type::layer_tar);
  auto r = differ().apply(desc, lcow_mount(), {});
  ASSERT_TRUE(r) << r.error().to_string();
  const std::string vhd = layer_ + "/layer.vhd";
  std::string out, err;
  EXPECT_EQ(strata::testing::run_command({tool("e2fsck"), "-fn", vhd}, &out, &err), 0)
      << out << err;
  auto debugfs = [&](const std::string& request) {
    std::string o;
    strata::testing::run_command({tool("debugfs"), "-R", request, vhd}, &o);
    return o;
  };
  EXPECT_EQ(debugfs("cat /twice"), "second");
  EXPECT_EQ(debugfs("cat /old"), std::string(20000, '1'));
  EXPECT_EQ(debugfs("cat /now-a-dir/f"), "f");
  const std::string gone = debugfs("stat /gone");
  EXPECT_NE(gone.find("Type: character special"), std::string::npos) << gone;
}

// A layer that cannot become an image fails naming the entry, and leaves no layer.vhd.
struct BadLayer {
  const char* what;
  std::string tar;
  std::string entry;
};

TEST_F(LcowApply, BadLayersFailNamingTheEntryAndLeaveNothing) {
  TarEntry hard;
  hard.type = TarEntry::Type::Hardlink;
  hard.name = "link";
  hard.link = "missing";
  const std::vector<BadLayer> cases = {
      {"file over max_file_bytes",
       TarBuilder().file("a", "ok").file("huge", std::string(5000, 'h')).bytes(), "\"huge\""},
      {"hardlink to a missing target", TarBuilder().file("a", "x").add(hard).bytes(), "\"link\""},
      {"directory replaced by a file",
       TarBuilder().dir("d").file("d/f", "x").file("d", "now a file").bytes(), "\"d\""},
  };
  strata::lcow::Config config;
  config.max_file_bytes = 4096;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    const auto desc = ingest(c.tar, strata::media_type::layer_tar);
    auto r = differ(config).apply(desc, lcow_mount(), {});
    STRATA_EXPECT_CODE(r, Code::InvalidArgument);
    if (!r) {
      EXPECT_NE(r.error().message().find(c.entry), std::string::npos) << r.error().message();
    }
    EXPECT_TRUE(layer_files().empty());
  }
}

TEST_F(LcowApply, ImageOverTheCapFails) {
  const auto desc = ingest(TarBuilder().file("f", std::string(3 * MiB, 'f')).bytes(),
                           strata::media_type::layer_tar);
  strata::lcow::Config config;
  config.max_image_bytes = 2 * MiB;
  auto r = differ(config).apply(desc, lcow_mount(), {});
  STRATA_EXPECT_CODE(r, Code::InvalidArgument);
  if (!r) {
    EXPECT_NE(r.error().message().find("max_image_bytes"), std::string::npos);
  }
  EXPECT_TRUE(layer_files().empty());
}

TEST_F(LcowApply, OtherMountsAreNotImplementedAndTwoLcowLayersInvalid) {
  const auto desc = ingest(TarBuilder().file("f", "x").bytes(), strata::media_type::layer_tar);
  auto d = differ();
  STRATA_EXPECT_CODE(d.apply(desc, {}, {}), Code::NotImplemented);
  STRATA_EXPECT_CODE(d.apply(desc, {Mount{"bind", layer_, "", {"rbind"}}}, {}),
                     Code::NotImplemented);
  STRATA_EXPECT_CODE(
      d.apply(desc, {Mount{"overlay", "overlay", "", {"upperdir=" + layer_, "lowerdir=/x"}}}, {}),
      Code::NotImplemented);
  STRATA_EXPECT_CODE(d.apply(desc, {Mount{"windows-layer", layer_, "", {}}}, {}),
                     Code::NotImplemented);
  STRATA_EXPECT_CODE(
      d.apply(Descriptor{"application/x-unknown", desc.digest, desc.size, {}}, lcow_mount(), {}),
      Code::NotImplemented);
  auto two = lcow_mount();
  two.push_back(two.front());
  STRATA_EXPECT_CODE(d.apply(desc, two, {}), Code::InvalidArgument);
  STRATA_EXPECT_CODE(d.compare({}, lcow_mount(), {}), Code::NotImplemented);
  EXPECT_TRUE(layer_files().empty());
}

TEST(LcowConfig, DefaultsAndErrorsNameTheKey) {
  auto c = strata::lcow::decode({});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->max_file_bytes, std::uint64_t(128) << 30);
  EXPECT_EQ(c->max_image_bytes, std::uint64_t(128) << 30);
  auto bad = strata::lcow::decode({{"append_dm_verity", true}});
  STRATA_EXPECT_CODE(bad, Code::InvalidArgument);
  if (!bad) {
    EXPECT_NE(bad.error().message().find("append_dm_verity"), std::string::npos);
  }
  bad = strata::lcow::decode({{"max_image_bytes", -1}});
  STRATA_EXPECT_CODE(bad, Code::InvalidArgument);
  if (!bad) {
    EXPECT_NE(bad.error().message().find("max_image_bytes"), std::string::npos);
  }
  auto ok = strata::lcow::decode({{"max_file_bytes", 4096}, {"append_dm_verity", false}});
  ASSERT_TRUE(ok) << ok.error().to_string();
  EXPECT_EQ(ok->max_file_bytes, 4096u);
}

} // namespace
