#pragma once
/// \file
/// JSON support shared by every value type. Each type declares its own conversion next to its
/// definition (tag_invoke for boost::json::value_from / value_to) and defines it in exactly one
/// .cpp file of the SDK library; nothing else converts these types.

#include "strata/plugin/error.hpp"

#include <boost/json.hpp>

namespace strata {

namespace json = boost::json;

/// Converts `v` to T, turning a missing key or a wrong type into InvalidArgument naming `what`.
template <class T> Result<T> from_json(const json::value& v, std::string_view what) {
  try {
    return json::value_to<T>(v);
  } catch (const std::exception& e) {
    return invalid_argument(std::string(what) + ": " + e.what());
  }
}

/// Parses `text` as JSON; malformed text is InvalidArgument with the parser's reason.
Result<json::value> parse_json(std::string_view text, std::string_view what);

} // namespace strata
