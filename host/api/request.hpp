#pragma once
// One API request as a handler sees it: already parsed, decoded and matched to its route.

#include "api/uri.hpp"
#include "strata/plugin/json.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <string>
#include <string_view>

namespace strata::host::api {

namespace http = boost::beast::http;

/// Path parameters by name, e.g. {"name": "overlayfs", "key": "a/b"} for
/// "/v1/snapshotters/{name}/snapshots/{key}".
using PathParams = std::map<std::string, std::string, std::less<>>;

struct Request {
  http::verb method = http::verb::unknown;
  std::string target; ///< as received, e.g. "/v1/plugins?type=x%20y"
  std::string path;   ///< the target without its query, still encoded
  PathParams params;  ///< decoded path parameters of the matched route
  QueryParams query;  ///< decoded query parameters
  http::fields headers;
  std::string body;

  /// Path parameter `name`; empty when the route has none of that name.
  std::string_view param(std::string_view name) const;
  /// Query parameter `name`, or nullopt when absent.
  std::optional<std::string_view> query_param(std::string_view name) const;
  /// Header `name` (case-insensitive); empty when absent.
  std::string_view header(std::string_view name) const;
  /// The body parsed as JSON; InvalidArgument for an empty body or malformed JSON.
  Result<json::value> json_body() const;
};

/// Builds a Request from a method, a target, headers and a body: splits the query off the
/// target and decodes it. InvalidArgument for a malformed query.
Result<Request> make_request(http::verb method, std::string_view target, http::fields headers,
                             std::string body);

} // namespace strata::host::api
