// The walking differ end to end on real files: a layer ingested into a real content store,
// applied onto a bind directory or into an overlay upperdir, through stream processors.
#include "differ.hpp"
#include "fs_image.hpp"
#include "recording_logger.hpp"
#include "store.hpp"
#include "tar_builder.hpp"

#include <strata/contentio/ingest.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/mount/loop.hpp>
#include <strata/mount/temp.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace {

namespace stdfs = std::filesystem;
using strata::Code;
using strata::Descriptor;
using strata::Mount;

std::string slurp(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const stdfs::path& p, const std::string& data) {
  stdfs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << data;
}

void run(const std::string& cmd) {
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

class WalkingApply : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-walking-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto store = strata::content::LocalStore::open((dir_ / "content").string());
    ASSERT_TRUE(store) << store.error().to_string();
    store_ = *store;
  }
  void TearDown() override { stdfs::remove_all(dir_); }

  // Tars the staging tree `name` (whiteouts are plain files named .wh.*, as in any OCI layer)
  // and returns {plain tar, gzip of it}.
  std::pair<std::string, std::string> layer(const std::string& name) {
    const auto staging = dir_ / name;
    const auto tar = dir_ / (name + ".tar");
    run("bsdtar --numeric-owner -cf " + tar.string() + " -C " + staging.string() + " .");
    run("gzip -n -k -f " + tar.string());
    return {slurp(tar), slurp(tar.string() + ".gz")};
  }

  Descriptor ingest(const std::string& blob, const std::string& media_type) {
    const std::string digest = strata::digest::sha256_of(blob);
    std::size_t off = 0;
    auto st = strata::contentio::ingest(
        *store_, "test-" + digest, Descriptor{media_type, digest, std::int64_t(blob.size()), {}},
        [&](std::span<std::byte> buf) -> strata::Result<std::size_t> {
          std::size_t n = std::min(buf.size(), blob.size() - off);
          std::memcpy(buf.data(), blob.data() + off, n);
          off += n;
          return n;
        });
    EXPECT_TRUE(st) << st.error().to_string();
    return Descriptor{media_type, digest, std::int64_t(blob.size()), {}};
  }

  // `target` made empty, and the bind mount through which a layer is applied onto it.
  static std::vector<Mount> bind_target(const stdfs::path& target) {
    stdfs::remove_all(target);
    stdfs::create_directories(target);
    return {Mount{"bind", target.string(), "", {"rbind"}}};
  }

  strata::walking::WalkingDiffer differ(strata::walking::Config config = {},
                                        std::shared_ptr<strata::Logger> log = nullptr) {
    return strata::walking::WalkingDiffer(store_, std::move(config), std::move(log));
  }

  stdfs::path dir_;
  std::shared_ptr<strata::content::LocalStore> store_;
};

TEST_F(WalkingApply, GzipLayerOntoABindDirectory) {
  spit(dir_ / "l1/etc/hostname", "strata\n");
  spit(dir_ / "l1/bin/sh", "#!\n");
  auto [tar, gz] = layer("l1");
  auto desc = ingest(gz, strata::media_type::layer_tar_gzip);
  const auto target = dir_ / "target";
  stdfs::create_directory(target);
  auto d = differ();
  strata::ApplyOptions opts;
  opts.diff_id = strata::digest::sha256_of(tar);
  auto r = d.apply(desc, {Mount{"bind", target.string(), "", {"rbind", "rw"}}}, opts);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->media_type, strata::media_type::layer_tar);
  EXPECT_EQ(r->digest, strata::digest::sha256_of(tar));
  EXPECT_EQ(r->size, std::int64_t(tar.size()));
  EXPECT_EQ(slurp(target / "etc/hostname"), "strata\n");
}

// What an apply works around goes to the differ's logger (the plugin's), naming the layer.
TEST_F(WalkingApply, WarningsGoToTheLogger) {
  strata::testing::TarEntry f;
  f.name = "f";
  f.xattrs["user.overlay.opaque"] = "y"; // never taken from a layer, always a warning
  auto desc = ingest(strata::testing::TarBuilder().add(f).bytes(), strata::media_type::layer_tar);
  auto log = std::make_shared<strata::testing::RecordingLogger>();
  const auto target = dir_ / "target";
  auto r = differ({}, log).apply(desc, bind_target(target), {});
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(log->lines().size(), 1u);
  EXPECT_TRUE(log->has(strata::LogLevel::warn,
                       "layer " + desc.digest + ": ignored xattr user.overlay.opaque on f"))
      << log->lines()[0].second;
}

TEST_F(WalkingApply, WhiteoutsRemoveFilesOnABindDirectory) {
  const auto target = dir_ / "target";
  spit(target / "gone", "x");
  spit(target / "opaque/old", "x");
  spit(dir_ / "l2/.wh.gone", "");
  spit(dir_ / "l2/opaque/.wh..wh..opq", "");
  spit(dir_ / "l2/opaque/new", "n");
  auto [tar, gz] = layer("l2");
  auto r = differ().apply(ingest(tar, strata::media_type::layer_tar),
                          {Mount{"bind", target.string(), "", {"rbind"}}}, {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(stdfs::exists(target / "gone"));
  EXPECT_FALSE(stdfs::exists(target / "opaque/old"));
  EXPECT_EQ(slurp(target / "opaque/new"), "n");
  EXPECT_FALSE(stdfs::exists(target / ".wh.gone"));
}

// A blockfile snapshot's mount: the differ mounts the image itself and detaches it again.
TEST_F(WalkingApply, LoopImageIsMountedForTheApplyAndDetachedAfterwards) {
  STRATA_REQUIRE_LOOP_DEVICES();
  const std::string img = (dir_ / "snapshot.img").string();
  STRATA_MAKE_FS_IMAGE(img, "ext4", strata::testing::kSmallExt4Image);
  auto attached_to_image = [&] {
    auto loops = strata::mount::attached_loops();
    EXPECT_TRUE(loops) << loops.error().to_string();
    int n = 0;
    for (const auto& l : loops ? *loops : std::vector<strata::mount::LoopInfo>{})
      n += l.backing_file == img ? 1 : 0;
    return n;
  };
  const std::vector<Mount> mounts = {Mount{"ext4", img, "", {"loop", "rw"}}};

  spit(dir_ / "l1/etc/hostname", "strata\n");
  spit(dir_ / "l1/gone", "x");
  auto [tar1, gz1] = layer("l1");
  strata::ApplyOptions opts;
  opts.sync_fs = true;
  auto r = differ().apply(ingest(gz1, strata::media_type::layer_tar_gzip), mounts, opts);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->digest, strata::digest::sha256_of(tar1));
  EXPECT_EQ(attached_to_image(), 0) << "the apply's temporary mount must detach the device";

  spit(dir_ / "l2/.wh.gone", "");
  spit(dir_ / "l2/new", "n");
  auto [tar2, gz2] = layer("l2");
  r = differ().apply(ingest(tar2, strata::media_type::layer_tar), mounts, {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(attached_to_image(), 0);

  auto st = strata::mount::with_readonly_temp_mount(
      mounts,
      [&](const std::string& root) -> strata::Status {
        EXPECT_EQ(slurp(root + "/etc/hostname"), "strata\n");
        EXPECT_EQ(slurp(root + "/new"), "n");
        EXPECT_FALSE(stdfs::exists(root + "/gone")) << "whiteouts remove, as on a directory";
        EXPECT_FALSE(stdfs::exists(root + "/.wh.gone"));
        return {};
      },
      dir_.string());
  ASSERT_TRUE(st) << st.error().to_string();
  EXPECT_EQ(attached_to_image(), 0);

  // A layer that fails halfway still unmounts and detaches the image.
  auto bad =
      differ().apply(ingest(std::string(1024, 'x'), strata::media_type::layer_tar), mounts, {});
  ASSERT_FALSE(bad);
  EXPECT_EQ(attached_to_image(), 0);
}

// Comparing two blockfile snapshots: both images are mounted read-only while they are walked.
TEST_F(WalkingApply, CompareMountsLoopImagesReadOnly) {
  STRATA_REQUIRE_LOOP_DEVICES();
  const std::string lower_img = (dir_ / "lower.img").string();
  const std::string upper_img = (dir_ / "upper.img").string();
  STRATA_MAKE_FS_IMAGE(lower_img, "ext4", strata::testing::kSmallExt4Image);
  auto image_mount = [](const std::string& img) {
    return std::vector<Mount>{Mount{"ext4", img, "", {"loop", "rw"}}};
  };
  spit(dir_ / "l1/gone", "x");
  spit(dir_ / "l1/kept", "k");
  auto [tar1, gz1] = layer("l1");
  ASSERT_TRUE(
      differ().apply(ingest(tar1, strata::media_type::layer_tar), image_mount(lower_img), {}));
  stdfs::copy_file(lower_img, upper_img);
  spit(dir_ / "l2/.wh.gone", "");
  spit(dir_ / "l2/added", "a");
  auto [tar2, gz2] = layer("l2");
  ASSERT_TRUE(
      differ().apply(ingest(tar2, strata::media_type::layer_tar), image_mount(upper_img), {}));
  const auto before = slurp(upper_img);

  auto diff = differ().compare(image_mount(lower_img), image_mount(upper_img), {});
  ASSERT_TRUE(diff) << diff.error().to_string();
  EXPECT_EQ(slurp(upper_img), before) << "a comparison never writes to a snapshot";
  auto loops = strata::mount::attached_loops();
  ASSERT_TRUE(loops);
  for (const auto& l : *loops)
    EXPECT_TRUE(l.backing_file.find(dir_.string()) == std::string::npos) << l.backing_file;

  // The diff turns the lower tree into the upper one.
  const auto target = dir_ / "target";
  spit(target / "gone", "x");
  spit(target / "kept", "k");
  auto r = differ().apply(*diff, {Mount{"bind", target.string(), "", {"rbind"}}}, {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(stdfs::exists(target / "gone"));
  EXPECT_EQ(slurp(target / "kept"), "k");
  EXPECT_EQ(slurp(target / "added"), "a");
}

TEST_F(WalkingApply, OverlayMountGetsOverlayWhiteoutsInItsUpperdir) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root for 0:0 character devices and trusted.* xattrs";
  spit(dir_ / "l3/.wh.gone", "");
  spit(dir_ / "l3/opaque/.wh..wh..opq", "");
  spit(dir_ / "l3/opaque/new", "n");
  auto [tar, gz] = layer("l3");
  const auto upper = dir_ / "upper", work = dir_ / "work", lower = dir_ / "lower";
  for (const auto& p : {upper, work, lower})
    stdfs::create_directory(p);
  auto r = differ().apply(ingest(gz, strata::media_type::layer_tar_gzip),
                          {Mount{"overlay",
                                 "overlay",
                                 "",
                                 {"index=off", "lowerdir=" + lower.string(),
                                  "upperdir=" + upper.string(), "workdir=" + work.string()}}},
                          {});
  ASSERT_TRUE(r) << r.error().to_string();
  struct stat st {};
  ASSERT_EQ(::lstat((upper / "gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char value[8] = {};
  ASSERT_EQ(::lgetxattr((upper / "opaque").c_str(), "trusted.overlay.opaque", value, sizeof value),
            1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_FALSE(stdfs::exists(work / "opaque"));
}

TEST_F(WalkingApply, OverlayMountPassesItsLowerdirsForHardlinksToEarlierLayers) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to keep owners and modes";
  // Two lower layers, nearest first in lowerdir=; the layer links to a file of the deeper one.
  const auto upper = dir_ / "upper", work = dir_ / "work", near = dir_ / "near", far = dir_ / "far";
  for (const auto& p : {upper, work, near})
    stdfs::create_directory(p);
  spit(far / "etc/passwd", "root:x:0:0\n");
  ::chmod((far / "etc/passwd").c_str(), 0600);
  const std::string tar =
      strata::testing::TarBuilder().hardlink("etc/passwd-", "etc/passwd").bytes();
  const auto desc = ingest(tar, strata::media_type::layer_tar);
  auto r = differ().apply(desc,
                          {Mount{"overlay",
                                 "overlay",
                                 "",
                                 {"index=off", "lowerdir=" + near.string() + ":" + far.string(),
                                  "upperdir=" + upper.string(), "workdir=" + work.string()}}},
                          {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(slurp(upper / "etc/passwd-"), "root:x:0:0\n");
  struct stat st {};
  ASSERT_EQ(::lstat((upper / "etc/passwd").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::lstat((far / "etc/passwd").c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 1u) << "the lower layer must stay untouched";

  // A bind mount has no lowers: the same layer finds no target.
  const auto bind = dir_ / "bind";
  stdfs::create_directory(bind);
  r = differ().apply(desc, {Mount{"bind", bind.string(), "", {"rbind"}}}, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound) << r.error().to_string();
}

// ApplyTarget::UpperdirUnknownLowers: a parallel unpack's parentless layer, a bind mount of the
// future upperdir. Whiteouts must stay markers (they hide the parents' files once committed onto
// them), and what needs the parents is NeedsParent, never NotFound.
TEST_F(WalkingApply, UpperdirUnknownLowersKeepsWhiteoutsAsMarkers) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root for 0:0 character devices and trusted.* xattrs";
  const std::string tar = strata::testing::TarBuilder()
                              .file(".wh.gone", "")
                              .dir("opaque")
                              .file("opaque/.wh..wh..opq", "")
                              .file("opaque/new", "n")
                              .bytes();
  const auto target = dir_ / "target";
  strata::ApplyOptions opts;
  opts.target = strata::ApplyTarget::UpperdirUnknownLowers;
  auto r = differ().apply(ingest(tar, strata::media_type::layer_tar), bind_target(target), opts);
  ASSERT_TRUE(r) << r.error().to_string();
  struct stat st {};
  ASSERT_EQ(::lstat((target / "gone").c_str(), &st), 0) << "a plain directory would lose it";
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char value[8] = {};
  ASSERT_EQ(::lgetxattr((target / "opaque").c_str(), "trusted.overlay.opaque", value, sizeof value),
            1);
  EXPECT_EQ(value[0], 'y');
  EXPECT_EQ(slurp(target / "opaque/new"), "n");

  // The same layer with the default target onto the same kind of mount: a plain directory.
  r = differ().apply(ingest(tar, strata::media_type::layer_tar), bind_target(target), {});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(stdfs::exists(stdfs::symlink_status(target / "gone")));
  EXPECT_EQ(::lgetxattr((target / "opaque").c_str(), "trusted.overlay.opaque", value, sizeof value),
            -1);
}

TEST_F(WalkingApply, UpperdirUnknownLowersNeedsTheParentForALowerFileOrDirectory) {
  strata::ApplyOptions opts;
  opts.target = strata::ApplyTarget::UpperdirUnknownLowers;
  const auto target = dir_ / "target";
  for (const std::string& tar :
       {strata::testing::TarBuilder().hardlink("passwd-", "etc/passwd").bytes(),
        strata::testing::TarBuilder().file("etc/implied", "x").bytes(),
        strata::testing::TarBuilder().file(".wh..wh..opq", "").bytes()}) {
    auto r = differ().apply(ingest(tar, strata::media_type::layer_tar), bind_target(target), opts);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::NeedsParent) << r.error().to_string();
  }
  // What the layer holds itself needs nothing below.
  auto r = differ().apply(ingest(strata::testing::TarBuilder()
                                     .dir("etc")
                                     .file("etc/passwd", "root\n")
                                     .hardlink("etc/passwd-", "etc/passwd")
                                     .bytes(),
                                 strata::media_type::layer_tar),
                          bind_target(target), opts);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(slurp(target / "etc/passwd-"), "root\n");
}

TEST_F(WalkingApply, MissingBlobIsNotFoundWhateverTheTarget) {
  // NotFound keeps its meaning (the blob is gone) so that an unpack never retries it.
  strata::ApplyOptions opts;
  opts.target = strata::ApplyTarget::UpperdirUnknownLowers;
  const Descriptor absent{
      strata::media_type::layer_tar, strata::digest::sha256_of(std::string("absent")), 6, {}};
  auto r = differ().apply(absent, bind_target(dir_ / "target"), opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound) << r.error().to_string();
}

TEST_F(WalkingApply, UpperdirUnknownLowersOnAnOverlayMountIsNotImplementedAndTouchesNothing) {
  const auto upper = dir_ / "upper";
  stdfs::create_directories(upper);
  strata::ApplyOptions opts;
  opts.target = strata::ApplyTarget::UpperdirUnknownLowers;
  auto r = differ().apply(
      ingest(strata::testing::TarBuilder().file("a", "a").bytes(), strata::media_type::layer_tar),
      {Mount{"overlay", "overlay", "", {"lowerdir=/l", "upperdir=" + upper.string()}}}, opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotImplemented) << r.error().to_string();
  EXPECT_TRUE(stdfs::is_empty(upper));
}

TEST_F(WalkingApply, DiffIdMismatchIsFailedPrecondition) {
  spit(dir_ / "l4/a", "a");
  auto [tar, gz] = layer("l4");
  const auto target = dir_ / "target";
  const auto mounts = bind_target(target);
  strata::ApplyOptions opts;
  opts.diff_id = strata::digest::sha256_of("something else");
  auto r = differ().apply(ingest(gz, strata::media_type::layer_tar_gzip), mounts, opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::FailedPrecondition) << r.error().to_string();
  EXPECT_NE(r.error().message().find(opts.diff_id), std::string::npos);
}

TEST_F(WalkingApply, UnknownMediaTypeIsNotImplementedAndTouchesNothing) {
  spit(dir_ / "l5/a", "a");
  auto [tar, gz] = layer("l5");
  const auto target = dir_ / "target";
  const auto mounts = bind_target(target);
  auto r = differ().apply(ingest(gz, "application/vnd.example.layer+magic"), mounts, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotImplemented) << r.error().to_string();
  EXPECT_TRUE(stdfs::is_empty(target));
}

TEST_F(WalkingApply, MissingBlobIsNotFound) {
  const auto target = dir_ / "target";
  const auto mounts = bind_target(target);
  auto r = differ().apply(
      Descriptor{
          strata::media_type::layer_tar_gzip, strata::digest::sha256_of("never stored"), 12, {}},
      mounts, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound);
}

TEST_F(WalkingApply, StreamProcessorTurnsACustomMediaTypeIntoATar) {
  spit(dir_ / "l6/via/processor", "p");
  auto [tar, gz] = layer("l6");
  const std::string custom = "application/vnd.example.layer.v1.tar+custom";
  strata::walking::Config config;
  config.processors.push_back(strata::streamproc::ProcessorSpec{
      "gunzip", {custom}, strata::media_type::layer_tar, "/usr/bin/gzip", {"-d", "-c"}, {}});
  const auto target = dir_ / "target";
  const auto mounts = bind_target(target);
  strata::ApplyOptions opts;
  opts.diff_id = strata::digest::sha256_of(tar);
  opts.sync_fs = true;
  auto r = differ(config).apply(ingest(gz, custom), mounts, opts);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(slurp(target / "via/processor"), "p");
}

TEST_F(WalkingApply, ProcessorThatCannotRunLeavesTheMediaTypeNotImplemented) {
  const std::string custom = "application/vnd.example.layer.v1.tar+custom";
  strata::walking::Config config;
  config.processors.push_back(strata::streamproc::ProcessorSpec{
      "relative", {custom}, strata::media_type::layer_tar, "bin/gzip", {"-d"}, {}});
  const auto target = dir_ / "target";
  const auto mounts = bind_target(target);
  auto r = differ(config).apply(ingest("irrelevant", custom), mounts, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotImplemented);
  EXPECT_NE(r.error().message().find("relative"), std::string::npos) << r.error().to_string();
}

TEST_F(WalkingApply, EveryGzipDecoderAndThreadSettingGivesTheSameLayer) {
  spit(dir_ / "l7/etc/hostname", "strata\n");
  spit(dir_ / "l7/big", std::string(3 << 20, 'b'));
  for (int i = 0; i < 50; ++i)
    spit(dir_ / ("l7/d/f" + std::to_string(i)), std::string(i * 1000, char('a' + i % 26)));
  auto [tar, gz] = layer("l7");
  const auto desc = ingest(gz, strata::media_type::layer_tar_gzip);
  int n = 0;
  for (auto decoder : {strata::archive::GzipDecoder::Isal, strata::archive::GzipDecoder::Zlib}) {
    for (bool thread : {true, false}) {
      SCOPED_TRACE(std::string(strata::archive::to_string(decoder)) +
                   (thread ? " on its own thread" : " inline"));
      strata::walking::Config config;
      config.gzip_decoder = decoder;
      config.decompress_thread = thread;
      const auto target = dir_ / ("target" + std::to_string(n++));
      const auto mounts = bind_target(target);
      strata::ApplyOptions opts;
      opts.diff_id = strata::digest::sha256_of(tar);
      auto r = differ(config).apply(desc, mounts, opts);
      ASSERT_TRUE(r) << r.error().to_string();
      EXPECT_EQ(r->digest, opts.diff_id);
      EXPECT_EQ(slurp(target / "big"), std::string(3 << 20, 'b'));
      EXPECT_EQ(slurp(target / "d/f49"), std::string(49000, char('a' + 49 % 26)));
    }
  }
}

TEST_F(WalkingApply, CorruptGzipIsInvalidArgumentWithEitherDecoderAndThread) {
  spit(dir_ / "l8/file", std::string(1 << 20, 'x') + "tail");
  auto [tar, gz] = layer("l8");
  std::string broken = gz;
  broken[broken.size() - 6] ^= 0x10; // the trailer's CRC-32
  for (const std::string& blob : {gz.substr(0, gz.size() / 2), broken}) {
    const auto desc = ingest(blob, strata::media_type::layer_tar_gzip);
    for (auto decoder : {strata::archive::GzipDecoder::Isal, strata::archive::GzipDecoder::Zlib}) {
      for (bool thread : {true, false}) {
        strata::walking::Config config;
        config.gzip_decoder = decoder;
        config.decompress_thread = thread;
        const auto target = dir_ / "target";
        const auto mounts = bind_target(target);
        auto r = differ(config).apply(desc, mounts, {});
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code(), Code::InvalidArgument) << r.error().to_string();
        EXPECT_NE(r.error().message().find("corrupt gzip stream"), std::string::npos)
            << r.error().to_string();
      }
    }
  }
}

TEST_F(WalkingApply, ProcessorOutputIsInflatedOnTheThreadAndTheChainClosedAfter) {
  // A processor that returns tar+gzip: the decompress thread reads the chain's pipe.
  spit(dir_ / "l9/via/cat", "c");
  auto [tar, gz] = layer("l9");
  const std::string custom = "application/vnd.example.layer.v1.tar+gzip+custom";
  strata::walking::Config config;
  config.processors.push_back(strata::streamproc::ProcessorSpec{
      "cat", {custom}, strata::media_type::layer_tar_gzip, "/bin/cat", {}, {}});
  const auto target = dir_ / "target";
  const auto mounts = bind_target(target);
  strata::ApplyOptions opts;
  opts.diff_id = strata::digest::sha256_of(tar);
  auto r = differ(config).apply(ingest(gz, custom), mounts, opts);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(slurp(target / "via/cat"), "c");
}

TEST_F(WalkingApply, ApplyThatFailsEarlyStopsTheDecompressThread) {
  // The first entry is refused; 64 MiB of layer follow, which the worker must stop inflating.
  const std::string tar = strata::testing::TarBuilder()
                              .file("../escape", "x")
                              .file("zeros", std::string(64 << 20, '\0'))
                              .bytes();
  const std::string gz = strata::testing::gzip(tar);
  const std::string custom = "application/vnd.example.layer.v1.tar+gzip+custom";
  strata::walking::Config config;
  config.processors.push_back(strata::streamproc::ProcessorSpec{
      "cat", {custom}, strata::media_type::layer_tar_gzip, "/bin/cat", {}, {}});
  for (const auto& media_type : {std::string(strata::media_type::layer_tar_gzip), custom}) {
    const auto target = dir_ / "target";
    const auto mounts = bind_target(target);
    const auto t0 = std::chrono::steady_clock::now();
    auto r = differ(config).apply(ingest(gz, media_type), mounts, {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << r.error().to_string();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30));
    EXPECT_FALSE(stdfs::exists(target / "zeros"));
  }
}

} // namespace
