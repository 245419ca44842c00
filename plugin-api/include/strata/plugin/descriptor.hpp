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
