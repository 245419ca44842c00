#pragma once
// Decoding the parts of a request target: path segments and query parameters. Escapes are
// checked and decoded by Boost.URL; see uri.cpp for why the splitting is ours.

#include "strata/plugin/error.hpp"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::host::api {

/// Decoded query parameters; a transparent comparator so string_view lookups need no copy.
using QueryParams = std::map<std::string, std::string, std::less<>>;

/// Percent-decodes `text`. With `plus_is_space` (query strings, form encoding) '+' is a space.
/// nullopt for a malformed escape ("%4", "%zz") or an encoded NUL, which no name may hold.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

/// Splits "/v1/a/b%2Fc" into decoded segments {"v1", "a", "b/c"}. Splitting comes before
/// decoding so that an encoded '/' stays inside its segment (snapshot keys may hold slashes).
/// A single trailing slash is ignored. InvalidArgument for a path that does not start with '/'
/// or holds a malformed escape.
Result<std::vector<std::string>> split_path(std::string_view path);

/// Decoded query parameters in the order given, repeated keys included ("label=a&label=b").
using QueryList = std::vector<std::pair<std::string, std::string>>;

/// Parses "a=1&b=x%20y" into decoded pairs; a key without '=' maps to ""; a repeated key keeps
/// its last value. InvalidArgument for a malformed escape.
Result<QueryParams> parse_query(std::string_view query);

/// Like parse_query() but keeps every pair, in order. InvalidArgument for a malformed escape.
Result<QueryList> parse_query_list(std::string_view query);

} // namespace strata::host::api
