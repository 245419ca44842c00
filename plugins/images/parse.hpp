#pragma once
// The pure parsers of an OCI image layout's JSON: media types, descriptors, index entries,
// manifests and configs. They read bytes already in memory and touch nothing else, so the
// planner (plan.hpp) decides what to read and these decide what it says.

#include <strata/plugin/images.hpp>

#include <optional>
#include <string>
#include <vector>

namespace strata::images {

/// What a media type is to the importer.
enum class BlobKind { Index, Manifest, Config, Layer };

/// The kind of an OCI or Docker schema 2 media type. Errors: InvalidArgument naming an unknown
/// type (and `where` it was found).
Result<BlobKind> classify(const std::string& media_type, const std::string& where);

/// An index entry: its descriptor and, when it has one, its platform.
struct IndexEntry {
  Descriptor desc;
  std::optional<Platform> platform;
};

/// The "manifests" of an index (index.json or an index blob), each descriptor checked (fields
/// present, a sha256 digest, a size that is not negative). `what` names the index in errors.
/// Errors: InvalidArgument (bad JSON, no "manifests" array, a bad descriptor or platform).
Result<std::vector<IndexEntry>> parse_index_entries(const std::string& text,
                                                    const std::string& what);

/// What a manifest says: its config and layers, their descriptors and media types checked.
struct ParsedManifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

/// Parses the manifest `text`, named `what` in errors. Errors: InvalidArgument (bad JSON, no
/// "config" or "layers", a bad descriptor, a config or layer of the wrong or an unknown media
/// type).
Result<ParsedManifest> parse_manifest(const std::string& text, const std::string& what);

/// What an image config says that the import needs.
struct ParsedConfig {
  /// os, architecture and variant (empty when absent).
  Platform platform;
  /// rootfs.diff_ids, each a valid sha256 digest.
  std::vector<std::string> diff_ids;
};

/// Parses the image config `text`, named `what` in errors. Errors: InvalidArgument (bad JSON, no
/// "rootfs" object, a rootfs.type other than "layers", bad diff_ids).
Result<ParsedConfig> parse_config(const std::string& text, const std::string& what);

} // namespace strata::images
