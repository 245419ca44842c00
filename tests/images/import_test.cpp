// The images service (plugins/images) linked directly, over the local content store: OCI image
// layouts built by each test (layout_builder.hpp), imported as directories and as tars, good
// ones and every kind of bad one. A bad layout must fail with InvalidArgument (NotFound for a
// platform it lacks) naming what is wrong, and leave no image record.
#include "filter_cases.hpp"
#include "layout_builder.hpp"
#include "service.hpp"
#include "store.hpp"

#include <strata/contentio/read_all.hpp>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace {

namespace fs = std::filesystem;
using strata::Code;
using strata::Descriptor;
using strata::Image;
using strata::ImportOptions;
using strata::Platform;
using strata::testing::LayoutBuilder;
using strata::testing::path_of;

const Platform amd64{"linux", "amd64", ""};
const Platform arm64{"linux", "arm64", "v8"};

class ImportTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-images-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    auto store = strata::content::LocalStore::open((tmp_ / "content").string());
    ASSERT_TRUE(store) << store.error().to_string();
    store_ = *store;
    make_service(strata::images::Config{});
  }
  void TearDown() override { fs::remove_all(tmp_); }

  void make_service(strata::images::Config config) {
    fs::create_directories(tmp_ / "images");
    auto records = strata::images::RecordStore::open((tmp_ / "images" / "records").string());
    ASSERT_TRUE(records) << records.error().to_string();
    service_ = std::make_unique<strata::images::ImagesService>(store_, std::move(*records), config);
  }

  // The layout written as a fresh directory (tar=false) or tar file; its path.
  std::string write(const LayoutBuilder& b, bool tar) {
    auto path = tmp_ / ("layout-" + std::to_string(++n_) + (tar ? ".tar" : ""));
    if (tar)
      std::ofstream(path, std::ios::binary) << b.tar();
    else
      b.write_dir(path.string());
    return path.string();
  }

  strata::Result<std::vector<Image>> import(const LayoutBuilder& b, bool tar,
                                            ImportOptions opts = {}) {
    if (!opts.platform)
      opts.platform = amd64; // the tests must not depend on the machine running them
    return service_->import_layout(write(b, tar), opts);
  }

  // Fails unless `b` is refused with `code` and a message holding every one of `needles`, as a
  // directory and as a tar, leaving no record.
  void expect_refused(const LayoutBuilder& b, Code code, std::vector<std::string> needles,
                      ImportOptions opts = {}) {
    for (bool tar : {false, true}) {
      SCOPED_TRACE(tar ? "tar" : "directory");
      auto r = import(b, tar, opts);
      ASSERT_FALSE(r) << "imported " << (*r).size() << " images";
      EXPECT_EQ(r.error().code(), code) << r.error().to_string();
      for (const auto& n : needles)
        EXPECT_NE(r.error().message().find(n), std::string::npos)
            << "\"" << n << "\" not in: " << r.error().message();
      EXPECT_EQ(names().size(), 0u);
    }
  }

  std::vector<std::string> names() {
    std::vector<std::string> out;
    auto st = service_->walk(
        [&out](const Image& i) -> strata::Status {
          out.push_back(i.name);
          return {};
        },
        {});
    EXPECT_TRUE(st) << st.error().to_string();
    return out;
  }

  // A named single-platform image of three layers: the common good layout.
  LayoutBuilder three_layers(strata::testing::ImageParts* parts = nullptr,
                             const std::string& name = "example.com/app:1") {
    LayoutBuilder b;
    auto p = b.image(3, amd64);
    b.index_json({{LayoutBuilder::named(p.manifest, name), std::nullopt}});
    if (parts)
      *parts = p;
    return b;
  }

  fs::path tmp_;
  int n_ = 0;
  std::shared_ptr<strata::content::LocalStore> store_;
  std::unique_ptr<strata::images::ImagesService> service_;
};

TEST_F(ImportTest, ImportsThreeLayersFromADirectoryAndATar) {
  strata::testing::ImageParts parts;
  auto b = three_layers(&parts);
  for (bool tar : {false, true}) {
    SCOPED_TRACE(tar ? "tar" : "directory");
    auto r = import(b, tar);
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->size(), 1u);
    const Image& i = r->front();
    EXPECT_EQ(i.name, "example.com/app:1");
    EXPECT_EQ(i.target.digest, parts.manifest.digest);
    EXPECT_EQ(i.resolved.manifest.digest, parts.manifest.digest);
    EXPECT_EQ(i.resolved.config, parts.config);
    EXPECT_EQ(i.resolved.layers, parts.layers);
    EXPECT_EQ(i.resolved.diff_ids, parts.diff_ids);
    EXPECT_EQ(i.resolved.platform, amd64);
    for (const auto& d : parts.layers) {
      auto info = store_->info(d.digest);
      ASSERT_TRUE(info) << d.digest;
      EXPECT_EQ(info->size, d.size);
    }
    EXPECT_TRUE(store_->info(parts.config.digest));
    EXPECT_TRUE(store_->info(parts.manifest.digest));
    auto got = service_->get("example.com/app:1");
    ASSERT_TRUE(got) << got.error().to_string();
    EXPECT_EQ(got->resolved, i.resolved);
  }
  EXPECT_EQ(names(), std::vector<std::string>{"example.com/app:1"});
}

TEST_F(ImportTest, ReimportKeepsCreatedAndRemoveForgetsTheRecordButNotTheBlobs) {
  strata::testing::ImageParts parts;
  auto b = three_layers(&parts);
  auto first = import(b, false);
  ASSERT_TRUE(first) << first.error().to_string();
  auto second = import(b, true);
  ASSERT_TRUE(second) << second.error().to_string();
  EXPECT_EQ(second->front().created, first->front().created);
  EXPECT_GE(second->front().updated, first->front().updated);
  ASSERT_TRUE(service_->remove("example.com/app:1"));
  EXPECT_EQ(service_->get("example.com/app:1").error().code(), Code::NotFound);
  EXPECT_EQ(service_->remove("example.com/app:1").error().code(), Code::NotFound);
  EXPECT_TRUE(store_->info(parts.layers[0].digest));
}

TEST_F(ImportTest, NameOptionAndAnnotations) {
  LayoutBuilder b;
  auto p = b.image(1, amd64);
  b.index_json({{p.manifest, std::nullopt}});
  expect_refused(b, Code::InvalidArgument, {"no name annotation", "--name"});
  ImportOptions opts;
  opts.name = "given:latest";
  auto r = import(b, false, opts);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->front().name, "given:latest");

  // containerd's full name wins over the OCI ref name.
  LayoutBuilder c;
  auto q = c.image(1, amd64, 1);
  auto d = LayoutBuilder::named(q.manifest, "1.0");
  d.annotations[strata::image_annotation::containerd_name] = "docker.io/library/x:1.0";
  c.index_json({{d, std::nullopt}});
  auto named = import(c, true);
  ASSERT_TRUE(named) << named.error().to_string();
  EXPECT_EQ(named->front().name, "docker.io/library/x:1.0");
}

// `docker save` (Docker 25 and later) writes an OCI layout with uncompressed layers, both name
// annotations on the index entry, and its own files beside it (manifest.json, repositories),
// which the import does not need and must not trip over.
TEST_F(ImportTest, DockerSaveArchiveWithItsOwnFilesAndPlainLayers) {
  LayoutBuilder b;
  auto p = b.image(2, amd64, 3, -1, strata::media_type::layer_tar);
  auto d = LayoutBuilder::named(p.manifest, "1.0");
  d.annotations[strata::image_annotation::containerd_name] = "docker.io/library/app:1.0";
  b.index_json({{d, std::nullopt}});
  b.files["manifest.json"] =
      R"([{"Config":")" + path_of(p.config.digest) + R"(","RepoTags":["app:1.0"],"Layers":[")" +
      path_of(p.layers[0].digest) + R"(",")" + path_of(p.layers[1].digest) + R"("]}])";
  b.files["repositories"] = R"({"app":{"1.0":")" + p.manifest.digest.substr(7) + R"("}})";
  auto r = import(b, true);
  ASSERT_TRUE(r) << r.error().to_string();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().name, "docker.io/library/app:1.0");
  EXPECT_EQ(r->front().resolved.layers, p.layers);
  EXPECT_EQ(r->front().resolved.layers[0].media_type, strata::media_type::layer_tar);
  EXPECT_EQ(r->front().resolved.diff_ids, p.diff_ids);
}

TEST_F(ImportTest, SeveralEntriesImportTogetherOrOneByName) {
  LayoutBuilder b;
  auto one = b.image(1, amd64, 1);
  auto two = b.image(2, amd64, 2);
  b.index_json({{LayoutBuilder::named(one.manifest, "one"), std::nullopt},
                {LayoutBuilder::named(two.manifest, "two"), std::nullopt}});
  auto all = import(b, false);
  ASSERT_TRUE(all) << all.error().to_string();
  EXPECT_EQ(names(), (std::vector<std::string>{"one", "two"}));
  ASSERT_TRUE(service_->remove("one"));
  ASSERT_TRUE(service_->remove("two"));
  ImportOptions opts;
  opts.name = "two";
  auto picked = import(b, true, opts);
  ASSERT_TRUE(picked) << picked.error().to_string();
  EXPECT_EQ(picked->front().resolved.layers.size(), 2u);
  ASSERT_TRUE(service_->remove("two"));
  opts.name = "three";
  expect_refused(b, Code::InvalidArgument, {"one, two", "--name"}, opts);
}

TEST_F(ImportTest, SelectsThePlatformInNestedIndexes) {
  LayoutBuilder b;
  auto a = b.image(2, amd64, 1);
  auto r = b.image(3, arm64, 2);
  auto inner = b.index({{a.manifest, amd64}, {r.manifest, arm64}});
  auto outer = b.index({{inner, std::nullopt}});
  b.index_json({{LayoutBuilder::named(outer, "multi"), std::nullopt}});
  auto got = import(b, true);
  ASSERT_TRUE(got) << "error: " << got.error().to_string();
  EXPECT_EQ(got->front().resolved.manifest.digest, a.manifest.digest);
  EXPECT_EQ(got->front().target.digest, outer.digest);
  ImportOptions opts;
  opts.platform = Platform{"linux", "arm64", ""}; // no variant: matches v8
  got = import(b, false, opts);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(got->front().resolved.manifest.digest, r.manifest.digest);
  EXPECT_EQ(got->front().resolved.platform, arm64);
  EXPECT_TRUE(service_->remove("multi"));

  opts.platform = Platform{"linux", "s390x", ""};
  expect_refused(b, Code::NotFound, {"platform not found", "linux/s390x", "linux/arm64/v8"}, opts);
}

TEST_F(ImportTest, ASingleManifestForAnotherPlatformIsNotFound) {
  LayoutBuilder b;
  auto p = b.image(1, arm64);
  b.index_json({{LayoutBuilder::named(p.manifest, "arm"), std::nullopt}});
  expect_refused(b, Code::NotFound, {"platform not found", "--platform linux/arm64/v8"});
}

TEST_F(ImportTest, MissingBlob) {
  strata::testing::ImageParts parts;
  auto b = three_layers(&parts);
  b.files.erase(path_of(parts.layers[1].digest));
  expect_refused(b, Code::InvalidArgument, {path_of(parts.layers[1].digest), "missing"});
  auto c = three_layers(&parts);
  c.files.erase(path_of(parts.config.digest));
  expect_refused(c, Code::InvalidArgument, {"missing blob", parts.config.digest});
}

TEST_F(ImportTest, DigestMismatch) {
  strata::testing::ImageParts parts;
  auto b = three_layers(&parts);
  auto& bytes = b.files[path_of(parts.layers[2].digest)];
  bytes[0] = static_cast<char>(bytes[0] ^ 1); // same size, other bytes
  expect_refused(b, Code::InvalidArgument,
                 {parts.layers[2].digest, path_of(parts.layers[2].digest)});
  auto c = three_layers(&parts);
  auto& manifest = c.files[path_of(parts.manifest.digest)];
  manifest[manifest.size() - 1] = ' ';
  expect_refused(c, Code::InvalidArgument, {"digest mismatch", path_of(parts.manifest.digest)});
}

TEST_F(ImportTest, SizeMismatch) {
  strata::testing::ImageParts parts;
  auto b = three_layers(&parts);
  b.files[path_of(parts.layers[0].digest)] += "extra";
  expect_refused(b, Code::InvalidArgument, {"size mismatch", path_of(parts.layers[0].digest)});
  // The index says the manifest is larger than it is.
  LayoutBuilder c;
  auto p = c.image(1, amd64);
  auto lie = LayoutBuilder::named(p.manifest, "x");
  lie.size += 1;
  c.index_json({{lie, std::nullopt}});
  expect_refused(c, Code::InvalidArgument, {"size mismatch", path_of(p.manifest.digest)});
}

TEST_F(ImportTest, UnknownMediaType) {
  LayoutBuilder b;
  auto p = b.image(2, amd64, 0, -1, "application/vnd.example.layer.v1");
  b.index_json({{LayoutBuilder::named(p.manifest, "x"), std::nullopt}});
  expect_refused(b, Code::InvalidArgument,
                 {"unknown media type", "application/vnd.example.layer.v1"});
  LayoutBuilder c;
  auto q = c.image(1, amd64);
  auto odd = LayoutBuilder::named(q.manifest, "x");
  odd.media_type = "application/json";
  c.index_json({{odd, std::nullopt}});
  expect_refused(c, Code::InvalidArgument, {"unknown media type \"application/json\""});
}

TEST_F(ImportTest, MalformedJson) {
  LayoutBuilder b;
  auto bad = b.blob(strata::media_type::oci_manifest, "{\"config\": ");
  b.index_json({{LayoutBuilder::named(bad, "x"), std::nullopt}});
  expect_refused(b, Code::InvalidArgument, {"manifest " + bad.digest, path_of(bad.digest)});
  LayoutBuilder c = three_layers();
  c.files["index.json"] = "[not json";
  expect_refused(c, Code::InvalidArgument, {"index.json"});
}

TEST_F(ImportTest, OversizedManifest) {
  strata::images::Config small;
  small.max_manifest_bytes = 1024;
  make_service(small);
  LayoutBuilder b;
  auto p = b.image(40, amd64); // 40 layer descriptors: well over 1 KiB of manifest
  ASSERT_GT(p.manifest.size, 1024);
  b.index_json({{LayoutBuilder::named(p.manifest, "big"), std::nullopt}});
  expect_refused(b, Code::InvalidArgument, {"oversized manifest", p.manifest.digest});
  // index.json itself is capped too, and refused before it is read.
  LayoutBuilder c = three_layers();
  c.files["index.json"] += std::string(2048, ' ');
  expect_refused(c, Code::InvalidArgument, {"oversized", "index.json"});
}

TEST_F(ImportTest, WrongLayoutVersionOrNoLayoutFile) {
  LayoutBuilder b = three_layers();
  b.files["oci-layout"] = R"({"imageLayoutVersion":"2.0.0"})";
  expect_refused(b, Code::InvalidArgument, {"imageLayoutVersion \"2.0.0\"", "1.0.0"});
  b.files.erase("oci-layout");
  expect_refused(b, Code::InvalidArgument, {"not an OCI image layout", "oci-layout"});
}

TEST_F(ImportTest, DiffIdsCountMismatch) {
  LayoutBuilder b;
  auto p = b.image(3, amd64, 0, 2);
  b.index_json({{LayoutBuilder::named(p.manifest, "x"), std::nullopt}});
  expect_refused(b, Code::InvalidArgument,
                 {"diff_ids count mismatch", "2 rootfs.diff_ids", "3 layers"});
}

TEST_F(ImportTest, NoSuchPathAndNotALayout) {
  auto r = service_->import_layout((tmp_ / "nothing").string(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound);
  std::ofstream(tmp_ / "junk.tar") << "this is not a tar file at all";
  r = service_->import_layout((tmp_ / "junk.tar").string(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument) << r.error().to_string();
}

TEST_F(ImportTest, ASymlinkInTheLayoutCannotReachOutsideIt) {
  strata::testing::ImageParts parts;
  auto b = three_layers(&parts);
  auto dir = write(b, false);
  // The layer's file becomes a symlink to an absolute path outside the layout holding the right
  // bytes: resolved inside the layout, it is missing.
  const auto layer = path_of(parts.layers[0].digest);
  std::ofstream(tmp_ / "outside", std::ios::binary) << b.files[layer];
  fs::remove(fs::path(dir) / layer);
  fs::create_symlink(tmp_ / "outside", fs::path(dir) / layer);
  ImportOptions opts;
  opts.platform = amd64;
  auto r = service_->import_layout(dir, opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::InvalidArgument) << r.error().to_string();
  EXPECT_NE(r.error().message().find(layer), std::string::npos) << r.error().message();
}

TEST_F(ImportTest, WalkFilters) {
  auto b = three_layers(nullptr, "a");
  ImportOptions opts;
  opts.labels = {{"team", "x"}};
  ASSERT_TRUE(import(b, false, opts));
  auto c = three_layers(nullptr, "b");
  ASSERT_TRUE(import(c, false));
  auto walk = [&](std::vector<std::string> filters) {
    std::vector<std::string> out;
    auto st = service_->walk(
        [&out](const Image& i) -> strata::Status {
          out.push_back(i.name);
          return {};
        },
        filters);
    EXPECT_TRUE(st) << st.error().to_string();
    return out;
  };
  EXPECT_EQ(walk({"name==b"}), std::vector<std::string>{"b"});
  EXPECT_EQ(walk({"labels.team==x"}), std::vector<std::string>{"a"});
  EXPECT_EQ(walk({"labels.team"}), std::vector<std::string>{"a"});
  EXPECT_EQ(walk({"name!=a"}), std::vector<std::string>{"b"});
  auto bad = service_->walk([](const Image&) -> strata::Status { return {}; }, {"digest==a"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), Code::InvalidArgument);
}

// The shared filter table (tests/sdk/filter_cases.hpp) through ImageService::walk: one image per
// object, named after it and imported with its labels.
TEST_F(ImportTest, WalkFilterTable) {
  for (const auto& o : strata::test::filter_objects()) {
    ImportOptions opts;
    opts.labels = o.labels;
    ASSERT_TRUE(import(three_layers(nullptr, o.name), false, opts));
  }
  strata::test::check_filter_table(
      [&](const std::vector<std::string>& filters, std::vector<std::string>& got) {
        return service_->walk(
            [&got](const Image& i) -> strata::Status {
              got.push_back(i.name);
              return {};
            },
            filters);
      });
}

} // namespace
