// Which codec a layer media type names, and which one a stream's first bytes show.

#include "strata/archive/compression.hpp"

#include <array>
#include <cstring>

namespace strata::archive {

std::string_view to_string(Compression c) noexcept {
  switch (c) {
  case Compression::None:
    return "none";
  case Compression::Gzip:
    return "gzip";
  case Compression::Zstd:
    return "zstd";
  }
  return "unknown";
}

Result<std::optional<Compression>> compression_of_media_type(std::string_view mt) {
  struct Known {
    std::string_view type;
    std::optional<Compression> codec;
  };
  static constexpr std::array<Known, 13> known{{
      {"application/vnd.oci.image.layer.v1.tar", Compression::None},
      {"application/vnd.oci.image.layer.v1.tar+gzip", Compression::Gzip},
      {"application/vnd.oci.image.layer.v1.tar+zstd", Compression::Zstd},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::None},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Compression::Gzip},
      {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::Zstd},
      // Docker's plain tar type is used for compressed layers too: trust the bytes.
      {"application/vnd.docker.image.rootfs.diff.tar", std::nullopt},
      {"application/vnd.docker.image.rootfs.diff.tar.gzip", Compression::Gzip},
      {"application/vnd.docker.image.rootfs.diff.tar.zstd", Compression::Zstd},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar", std::nullopt},
      {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Compression::Gzip},
      {"application/x-tar", std::nullopt},
      {"", std::nullopt},
  }};
  for (const auto& k : known)
    if (k.type == mt && !mt.empty())
      return k.codec;
  return not_implemented("media type \"" + std::string(mt) +
                         "\" is not a layer tar strata can decode (OCI layer.v1.tar with "
                         "+gzip or +zstd, or a Docker rootfs.diff.tar); an encrypted or custom "
                         "layer needs a stream processor");
}

Compression detect_compression(std::span<const std::byte> head) noexcept {
  auto at = [&](std::size_t i) { return std::to_integer<unsigned>(head[i]); };
  if (head.size() >= 3 && at(0) == 0x1f && at(1) == 0x8b && at(2) == 0x08)
    return Compression::Gzip;
  if (head.size() >= 4) {
    // zstd frame magic 0xFD2FB528, or a skippable frame 0x184D2A5?, both little-endian.
    if (at(0) == 0x28 && at(1) == 0xb5 && at(2) == 0x2f && at(3) == 0xfd)
      return Compression::Zstd;
    if ((at(0) & 0xf0) == 0x50 && at(1) == 0x2a && at(2) == 0x4d && at(3) == 0x18)
      return Compression::Zstd;
  }
  return Compression::None;
}

} // namespace strata::archive
