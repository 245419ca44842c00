#include "layout_builder.hpp"

#include "tar_builder.hpp"

#include <strata/digest/sha256.hpp>

#include <filesystem>
#include <fstream>

namespace strata::testing {

LayoutBuilder::LayoutBuilder() {
  files["oci-layout"] = R"({"imageLayoutVersion":"1.0.0"})";
}

std::string path_of(const std::string& digest) {
  return "blobs/sha256/" + digest.substr(7);
}

Descriptor LayoutBuilder::blob(const std::string& media_type, const std::string& bytes) {
  Descriptor d{media_type, digest::sha256_of(bytes), static_cast<std::int64_t>(bytes.size()), {}};
  files[path_of(d.digest)] = bytes;
  return d;
}

ImageParts LayoutBuilder::image(int layers, const Platform& platform, int seed, int diff_ids,
                                const std::string& layer_type) {
  ImageParts parts;
  json::array layer_json, ids;
  for (int i = 0; i < layers; ++i) {
    std::string bytes = "layer " + std::to_string(i) + " of image " + std::to_string(seed) + " " +
                        std::string(100 + 37 * i, static_cast<char>('a' + i % 26));
    parts.layers.push_back(blob(layer_type, bytes));
    layer_json.push_back(json::value_from(parts.layers.back()));
  }
  for (int i = 0; i < (diff_ids < 0 ? layers : diff_ids); ++i) {
    parts.diff_ids.push_back(
        digest::sha256_of("diff " + std::to_string(i) + "/" + std::to_string(seed)));
    ids.push_back(json::value(parts.diff_ids.back()));
  }
  json::object config{{"architecture", platform.architecture},
                      {"os", platform.os},
                      {"rootfs", json::object{{"type", "layers"}, {"diff_ids", ids}}}};
  if (!platform.variant.empty())
    config["variant"] = platform.variant;
  parts.config = blob(media_type::oci_config, json::serialize(config));
  json::object manifest{{"schemaVersion", 2},
                        {"mediaType", media_type::oci_manifest},
                        {"config", json::value_from(parts.config)},
                        {"layers", layer_json}};
  parts.manifest = blob(media_type::oci_manifest, json::serialize(manifest));
  return parts;
}

namespace {
json::value
index_value(const std::vector<std::pair<Descriptor, std::optional<Platform>>>& entries) {
  json::array list;
  for (const auto& [d, p] : entries) {
    auto v = json::value_from(d);
    if (p)
      v.as_object()["platform"] = json::value_from(*p);
    list.push_back(std::move(v));
  }
  return json::object{
      {"schemaVersion", 2}, {"mediaType", media_type::oci_index}, {"manifests", list}};
}
} // namespace

Descriptor
LayoutBuilder::index(const std::vector<std::pair<Descriptor, std::optional<Platform>>>& entries) {
  return blob(media_type::oci_index, json::serialize(index_value(entries)));
}

void LayoutBuilder::index_json(
    const std::vector<std::pair<Descriptor, std::optional<Platform>>>& entries) {
  files["index.json"] = json::serialize(index_value(entries));
}

Descriptor LayoutBuilder::named(Descriptor d, const std::string& name) {
  d.annotations[image_annotation::ref_name] = name;
  return d;
}

void LayoutBuilder::write_dir(const std::string& dir) const {
  for (const auto& [name, bytes] : files) {
    auto path = std::filesystem::path(dir) / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << bytes;
  }
}

std::string LayoutBuilder::tar() const {
  TarBuilder t;
  t.dir("./");
  t.dir("./blobs/");
  t.dir("./blobs/sha256/");
  for (const auto& [name, bytes] : files)
    t.file("./" + name, bytes);
  return t.bytes();
}

} // namespace strata::testing
