#include "config/toml_json.hpp"

#include <sstream>

namespace strata::host::config_detail {

namespace {

template <class T> json::value as_text(const T& v) {
  std::ostringstream out;
  out << v;
  return json::string(out.str());
}

} // namespace

json::object to_json(const toml::table& table) {
  json::object out;
  for (const auto& [k, v] : table)
    out[k.str()] = to_json(v);
  return out;
}

json::value to_json(const toml::node& node) {
  return node.visit([](const auto& n) -> json::value {
    using T = std::remove_cvref_t<decltype(n)>;
    if constexpr (std::is_same_v<T, toml::table>) {
      return to_json(n);
    } else if constexpr (std::is_same_v<T, toml::array>) {
      json::array out;
      out.reserve(n.size());
      for (const auto& e : n)
        out.push_back(to_json(e));
      return out;
    } else if constexpr (std::is_same_v<T, toml::value<std::string>>) {
      return json::string(n.get());
    } else if constexpr (std::is_same_v<T, toml::value<std::int64_t>>) {
      return n.get();
    } else if constexpr (std::is_same_v<T, toml::value<double>>) {
      return n.get();
    } else if constexpr (std::is_same_v<T, toml::value<bool>>) {
      return n.get();
    } else {
      // toml++ prints dates and times in TOML's syntax, which is RFC 3339's.
      return as_text(n.get());
    }
  });
}

} // namespace strata::host::config_detail
