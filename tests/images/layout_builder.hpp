#pragma once
// LayoutBuilder: OCI image layouts for tests, made file by file so that a test can break any one
// of them (drop a blob, change its bytes, lie about a size) before writing the layout out as a
// directory or a tar.

#include <strata/plugin/images.hpp>

#include <map>
#include <string>
#include <vector>

namespace strata::testing {

/// The parts of one image built by LayoutBuilder::image.
struct ImageParts {
  Descriptor manifest; ///< media type, digest, size; annotations empty
  Descriptor config;
  std::vector<Descriptor> layers;
  std::vector<std::string> diff_ids;
};

class LayoutBuilder {
public:
  /// Starts with an oci-layout file of version 1.0.0 and nothing else.
  LayoutBuilder();

  /// Stores `bytes` as a blob; its descriptor.
  Descriptor blob(const std::string& media_type, const std::string& bytes);
  /// A manifest with `layers` layers (distinct bytes, seeded by `seed`) and a config for
  /// `platform` whose rootfs.diff_ids has `diff_ids` entries (-1: one per layer). `layer_type`
  /// is every layer's media type.
  ImageParts image(int layers, const Platform& platform, int seed = 0, int diff_ids = -1,
                   const std::string& layer_type = media_type::layer_tar_gzip);
  /// An index of `entries` (each a descriptor with an optional platform), stored as a blob.
  Descriptor index(const std::vector<std::pair<Descriptor, std::optional<Platform>>>& entries);
  /// index.json listing `entries`.
  void index_json(const std::vector<std::pair<Descriptor, std::optional<Platform>>>& entries);
  /// `d` with the annotation org.opencontainers.image.ref.name = `name`.
  static Descriptor named(Descriptor d, const std::string& name);

  /// Every file by relative name; tests may change or erase any.
  std::map<std::string, std::string> files;

  /// Writes the files under `dir` (created).
  void write_dir(const std::string& dir) const;
  /// The files as a tar (with a "./" prefix, as `tar -C dir .` writes them).
  std::string tar() const;
};

/// "blobs/sha256/<hex>" of a digest.
std::string path_of(const std::string& digest);

} // namespace strata::testing
