#pragma once
// TOML values as the JSON that plugins receive in InitContext::config().

#include "strata/plugin/json.hpp"

#include <toml++/toml.h>

namespace strata::host::config_detail {

/// Strings, int64 integers, doubles, booleans, arrays and tables map one to one; dates, times
/// and date-times become their RFC 3339 text, which JSON has no type for.
json::value to_json(const toml::node& node);
json::object to_json(const toml::table& table);

} // namespace strata::host::config_detail
