#pragma once
// The fixed-disk VHD footer (Microsoft's "Virtual Hard Disk Image Format Specification" v1.0):
// 512 bytes after the raw disk data make it a fixed VHD that Hyper-V attaches to an LCOW guest.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace strata::lcow {

/// Size of the footer, which follows the disk data.
inline constexpr std::size_t vhd_footer_size = 512;

/// CHS geometry of a disk, as the spec's appendix computes it from the sector count.
struct VhdGeometry {
  std::uint16_t cylinders = 0;
  std::uint8_t heads = 0;
  std::uint8_t sectors_per_track = 0;
};

/// The spec's geometry for a disk of `disk_bytes` (512-byte sectors, capped at 65535*16*255).
VhdGeometry vhd_geometry(std::uint64_t disk_bytes) noexcept;

/// The footer of a fixed disk holding `disk_bytes` bytes: cookie "conectix", features 2, version
/// 1.0, data offset all ones, creator "win " on "Wi2k" (so that readers which size disks by
/// creator, such as qemu before 10, take the current size), `timestamp` (seconds since
/// 2000-01-01 UTC), original and current size `disk_bytes`, the spec's geometry, disk type 2,
/// `unique_id`, and the checksum (ones' complement of the byte sum); big-endian throughout.
std::array<std::byte, vhd_footer_size>
vhd_footer(std::uint64_t disk_bytes, std::uint32_t timestamp,
           std::span<const std::byte, 16> unique_id) noexcept;

/// The checksum of a footer: the ones' complement of the sum of its bytes, the checksum field
/// (offset 64, 4 bytes) taken as zero.
std::uint32_t vhd_checksum(std::span<const std::byte, vhd_footer_size> footer) noexcept;

} // namespace strata::lcow
