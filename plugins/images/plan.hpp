#pragma once
// Reading an OCI image layout into an import plan: every check that needs only the layout's
// small files (oci-layout, index.json, indexes, manifests, configs) happens here, before any
// byte goes into the content store, so that a bad layout fails without importing anything.

#include "layout.hpp"
#include "parse.hpp"

#include <strata/plugin/images.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace strata::images {

/// The layout version strata reads (the oci-layout file's imageLayoutVersion).
inline constexpr const char* layout_version = "1.0.0";

/// "blobs/sha256/<hex>" of a valid sha256 digest.
std::string blob_path(const std::string& digest);

/// Whether an image built for `have` serves `want`: same os and architecture; when `want` has a
/// variant, the same variant (arm64 without a variant counts as v8, as the OCI spec's
/// platform list says).
bool platform_matches(const Platform& want, const Platform& have);

/// Checks an image name: 1 to 1024 bytes, no control characters. Errors: InvalidArgument.
Status validate_name(const std::string& name);

/// Options of plan_import.
struct PlanOptions {
  std::string name;      ///< ImportOptions::name
  Platform platform;     ///< the platform to select
  std::size_t max_bytes; ///< cap on index.json, indexes, manifests and configs
};

/// Everything an import writes, known before it writes anything.
struct Plan {
  /// The records, without times and labels.
  std::vector<Image> images;
  /// Indexes, manifests and configs by digest: their descriptors and verified bytes.
  std::map<std::string, std::pair<Descriptor, std::string>> metadata;
  /// Layers by digest, to stream from the layout.
  std::map<std::string, Descriptor> layers;
};

/// Reads and checks `files` down to the layers' descriptors (whose bytes are not read).
/// Errors: as ImageService::import_layout, except those of the layers' bytes.
Result<Plan> plan_import(LayoutFiles& files, const PlanOptions& opts);

} // namespace strata::images
