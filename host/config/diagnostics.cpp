#include "config/diagnostics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <sstream>

namespace strata::host::config_detail {

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool has_position(const toml::source_region& r) {
  return r.begin.line > 0;
}

} // namespace

std::string position(const std::string& file, const toml::source_region& where,
                     const toml::source_region& fallback) {
  const toml::source_region* r = has_position(where)      ? &where
                                 : has_position(fallback) ? &fallback
                                                          : nullptr;
  if (!r)
    return file + ": ";
  return fmt::format("{}:{}:{}: ", file, r->begin.line, r->begin.column);
}

std::string_view type_name(toml::node_type type) {
  switch (type) {
  case toml::node_type::table:
    return "a table";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::date:
    return "a date";
  case toml::node_type::time:
    return "a time";
  case toml::node_type::date_time:
    return "a date-time";
  case toml::node_type::none:
    break;
  }
  return "nothing";
}

std::string known_keys_hint(std::string_view unknown, const std::vector<std::string>& known) {
  std::string out = known.empty() ? "no keys are known"
                                  : "known keys: " + fmt::format("{}", fmt::join(known, ", "));
  const std::string* best = nullptr;
  std::size_t best_distance = 3;
  for (const auto& k : known) {
    if (auto d = edit_distance(unknown, k); d < best_distance) {
      best = &k;
      best_distance = d;
    }
  }
  if (best)
    out += fmt::format("; did you mean {}?", toml_quoted(*best));
  return out;
}

bool looks_like_uri(std::string_view s) {
  auto dot = s.find('.');
  if (dot == std::string_view::npos || s.front() == '.' || s.back() == '.')
    return false;
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isspace(u) || std::iscntrl(u);
  });
}

std::string toml_quoted(std::string_view s) {
  std::ostringstream out;
  out << toml::toml_formatter(toml::value<std::string>(std::string(s)), output_flags);
  return out.str();
}

std::string toml_key(std::string_view s) {
  bool bare = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) || c == '_' || c == '-';
  });
  return bare ? std::string(s) : toml_quoted(s);
}

} // namespace strata::host::config_detail
