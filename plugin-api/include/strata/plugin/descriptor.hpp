#pragma once
/// \file
/// OCI content descriptor and the media types strata knows.

#include "strata/plugin/json.hpp"

#include <cstdint>
#include <map>
#include <string>

namespace strata {

/// Media types of image layers (OCI and Docker).
namespace media_type {
inline constexpr const char* layer_tar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* layer_tar_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* layer_tar_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Docker's plain layer; its content may be compressed anyway, so readers detect by magic.
inline constexpr const char* docker_layer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr const char* docker_layer_gzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Non-distributable OCI layers (deprecated by the spec, still found in older images).
inline constexpr const char* layer_nondist_tar =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr const char* layer_nondist_tar_gzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr const char* layer_nondist_tar_zstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// Docker's foreign (Windows base) layer.
inline constexpr const char* docker_foreign_layer_gzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

/// Image manifests, indexes and configs (OCI and Docker schema 2).
inline constexpr const char* oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* docker_config = "application/vnd.docker.container.image.v1+json";
} // namespace media_type

/// Points at a blob: what it is, its digest ("sha256:<hex>") and size in bytes.
struct Descriptor {
  std::string media_type;
  std::string digest;
  std::int64_t size = 0;
  std::map<std::string, std::string> annotations;
  bool operator==(const Descriptor&) const = default;
};

/// JSON: OCI field names {"mediaType","digest","size","annotations"?}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const Descriptor& d);
Descriptor tag_invoke(const json::value_to_tag<Descriptor>&, const json::value& jv);

} // namespace strata
