#pragma once
// Pieces shared by the config's error messages (so that they all read the same way) and dump.

#include <toml++/toml.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace strata::host::config_detail {

/// How TOML is written back: basic strings, no indentation; non-ASCII kept as is.
inline constexpr toml::format_flags output_flags = toml::format_flags::allow_unicode_strings;

/// "FILE:LINE:COLUMN: " for `where`, else for `fallback`, else "FILE: " when neither has a
/// position (a node copied from the parsed tree has none).
std::string position(const std::string& file, const toml::source_region& where,
                     const toml::source_region& fallback = {});

/// "a string", "an integer", "a float", ... as the message's object.
std::string_view type_name(toml::node_type type);

/// "known keys: a, b, c" plus "; did you mean \"x\"?" when one is close to `unknown`.
std::string known_keys_hint(std::string_view unknown, const std::vector<std::string>& known);

/// The table's entries in the order the operator wrote them, so that the first error reported
/// is the first one in the file rather than the first in key order. Entries without a position
/// come first, in key order.
template <class Table> auto in_file_order(Table& t) {
  using Node = std::conditional_t<std::is_const_v<Table>, const toml::node, toml::node>;
  std::vector<std::pair<const toml::key*, Node*>> out;
  for (auto&& [k, v] : t)
    out.emplace_back(&k, &v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto& pa = a.first->source().begin;
    const auto& pb = b.first->source().begin;
    return std::pair(pa.line, pa.column) < std::pair(pb.line, pb.column);
  });
  return out;
}

/// True for "type.id": a '.' with text on both sides and no whitespace or control characters.
bool looks_like_uri(std::string_view s);

/// `s` as a TOML basic string, quotes included.
std::string toml_quoted(std::string_view s);

/// `s` as a key in a TOML header: bare when it can be, else quoted.
std::string toml_key(std::string_view s);

} // namespace strata::host::config_detail
