// ID mapping text: the "container:host:size" form of labels and options, and the kernel's form.
#include "strata/mount/idmap.hpp"

#include <charconv>

namespace strata::mount {
namespace {

// The kernel refuses more map lines than this (since Linux 4.15).
constexpr std::size_t kMaxMapEntries = 340;
// (uid_t)-1 is "no id" and can be neither mapped nor a mapping bound.
constexpr std::uint64_t kIdLimit = 0xffffffffULL;

bool parse_u32(std::string_view s, std::uint32_t& out) {
  if (s.empty())
    return false;
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v >= kIdLimit)
    return false;
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool overlaps(std::uint64_t a, std::uint64_t alen, std::uint64_t b, std::uint64_t blen) {
  return a < b + blen && b < a + alen;
}

} // namespace

Result<std::vector<IdMapping>> parse_id_mappings(std::string_view text) {
  std::vector<IdMapping> out;
  auto bad = [&](std::string_view entry, std::string_view why) {
    return invalid_argument("id mapping \"" + std::string(text) + "\": entry \"" +
                            std::string(entry) + "\" " + std::string(why) +
                            " (expected container-id:host-id:size[,...], e.g. 0:100000:65536)");
  };
  if (text.empty())
    return invalid_argument("id mapping is empty (expected container-id:host-id:size[,...], "
                            "e.g. 0:100000:65536)");
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    std::string_view entry = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    std::size_t c1 = entry.find(':');
    std::size_t c2 = c1 == std::string_view::npos ? c1 : entry.find(':', c1 + 1);
    if (c2 == std::string_view::npos || entry.find(':', c2 + 1) != std::string_view::npos)
      return bad(entry, "does not have three ':'-separated parts");
    IdMapping m;
    if (!parse_u32(entry.substr(0, c1), m.container_id) ||
        !parse_u32(entry.substr(c1 + 1, c2 - c1 - 1), m.host_id) ||
        !parse_u32(entry.substr(c2 + 1), m.size))
      return bad(entry, "has a part that is not a decimal number between 0 and 4294967294");
    if (m.size == 0)
      return bad(entry, "has size 0");
    if (std::uint64_t{m.container_id} + m.size > kIdLimit ||
        std::uint64_t{m.host_id} + m.size > kIdLimit)
      return bad(entry, "runs past id 4294967294");
    for (const IdMapping& o : out) {
      if (overlaps(m.container_id, m.size, o.container_id, o.size) ||
          overlaps(m.host_id, m.size, o.host_id, o.size))
        return bad(entry, "overlaps an earlier entry");
    }
    out.push_back(m);
    if (out.size() > kMaxMapEntries)
      return invalid_argument("id mapping \"" + std::string(text).substr(0, 64) +
                              "...\" has more than 340 entries, the kernel's limit");
    if (comma == std::string_view::npos)
      break;
    start = comma + 1;
  }
  return out;
}

std::string format_proc_id_map(const std::vector<IdMapping>& mappings) {
  std::string s;
  for (const IdMapping& m : mappings) {
    s += std::to_string(m.container_id);
    s.push_back(' ');
    s += std::to_string(m.host_id);
    s.push_back(' ');
    s += std::to_string(m.size);
    s.push_back('\n');
  }
  return s;
}

} // namespace strata::mount
