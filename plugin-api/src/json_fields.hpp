#pragma once
// Small helpers for the tag_invoke conversions of the SDK's value types (private to the SDK).

#include "strata/plugin/json.hpp"

#include <map>
#include <string>
#include <vector>

namespace strata::detail {

// Field `key` of object `jv`, converted; `fallback` when absent. Wrong types throw (value_to).
template <class T> T field_or(const json::value& jv, std::string_view key, T fallback) {
  const auto& obj = jv.as_object();
  auto it = obj.find(key);
  if (it == obj.end() || it->value().is_null())
    return fallback;
  return json::value_to<T>(it->value());
}

// Required field `key`; throws std::invalid_argument naming the key when absent.
template <class T> T field(const json::value& jv, std::string_view key) {
  const auto& obj = jv.as_object();
  auto it = obj.find(key);
  if (it == obj.end())
    throw std::invalid_argument("missing field \"" + std::string(key) + "\"");
  return json::value_to<T>(it->value());
}

} // namespace strata::detail
