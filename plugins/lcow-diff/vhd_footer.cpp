#include "vhd_footer.hpp"

#include <algorithm>
#include <cstring>

namespace strata::lcow {

namespace {

void put_be(std::byte* p, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8)
    p[i] = static_cast<std::byte>(v & 0xff);
}

void put_text(std::byte* p, const char (&text)[5]) {
  std::memcpy(p, text, 4);
}

} // namespace

VhdGeometry vhd_geometry(std::uint64_t disk_bytes) noexcept {
  // The spec's appendix, integer arithmetic throughout.
  std::uint64_t total = std::min<std::uint64_t>(disk_bytes / 512, 65535ULL * 16 * 255);
  std::uint64_t spt = 0, heads = 0, cth = 0;
  if (total >= 65535ULL * 16 * 63) {
    spt = 255;
    heads = 16;
    cth = total / spt;
  } else {
    spt = 17;
    cth = total / spt;
    heads = (cth + 1023) / 1024;
    if (heads < 4)
      heads = 4;
    if (cth >= heads * 1024 || heads > 16) {
      spt = 31;
      heads = 16;
      cth = total / spt;
    }
    if (cth >= heads * 1024) {
      spt = 63;
      heads = 16;
      cth = total / spt;
    }
  }
  return {static_cast<std::uint16_t>(cth / heads), static_cast<std::uint8_t>(heads),
          static_cast<std::uint8_t>(spt)};
}

std::uint32_t vhd_checksum(std::span<const std::byte, vhd_footer_size> footer) noexcept {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < footer.size(); ++i)
    if (i < 64 || i >= 68)
      sum += static_cast<std::uint8_t>(footer[i]);
  return ~sum;
}

std::array<std::byte, vhd_footer_size>
vhd_footer(std::uint64_t disk_bytes, std::uint32_t timestamp,
           std::span<const std::byte, 16> unique_id) noexcept {
  std::array<std::byte, vhd_footer_size> f{};
  std::byte* p = f.data();
  put_text(p + 0, "cone");
  put_text(p + 4, "ctix");
  put_be(p + 8, 0x2, 4);         // features: the reserved bit that must be set
  put_be(p + 12, 0x00010000, 4); // file format version 1.0
  put_be(p + 16, ~0ULL, 8);      // data offset: none for a fixed disk
  put_be(p + 24, timestamp, 4);
  put_text(p + 28, "win ");
  put_be(p + 32, 0x000a0000, 4); // creator version, as hcsshim writes it
  put_text(p + 36, "Wi2k");
  put_be(p + 40, disk_bytes, 8); // original size
  put_be(p + 48, disk_bytes, 8); // current size
  const VhdGeometry g = vhd_geometry(disk_bytes);
  put_be(p + 56, g.cylinders, 2);
  put_be(p + 58, g.heads, 1);
  put_be(p + 59, g.sectors_per_track, 1);
  put_be(p + 60, 2, 4); // disk type: fixed
  std::copy(unique_id.begin(), unique_id.end(), p + 68);
  put_be(p + 64, vhd_checksum(f), 4);
  return f;
}

} // namespace strata::lcow
