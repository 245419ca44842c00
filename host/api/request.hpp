#pragma once
// One API request as a handler sees it: already parsed, decoded and matched to its route.

#include "api/streaming.hpp"
#include "api/uri.hpp"
#include "strata/plugin/json.hpp"

#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace strata::host::api {

namespace http = boost::beast::http;

/// Path parameters by name, e.g. {"name": "overlayfs", "key": "a/b"} for
/// "/v1/snapshotters/{name}/snapshots/{key}".
using PathParams = std::map<std::string, std::string, std::less<>>;

struct Request {
  http::verb method = http::verb::unknown;
  std::string target;   ///< as received, e.g. "/v1/plugins?type=x%20y"
  std::string path;     ///< the target without its query, still encoded
  PathParams params;    ///< decoded path parameters of the matched route
  QueryParams query;    ///< decoded query parameters (a repeated key: its last value)
  QueryList query_list; ///< every decoded query parameter in order, repeated keys included
  http::fields headers;
  std::string body; ///< the whole body; empty on Streaming::upload routes
  /// On Streaming::upload routes: the body as the client sends it, pulled on the handler's
  /// thread; 0 once it was read whole. Errors: Cancelled (the client left or the server is
  /// stopping), DeadlineExceeded (the client sent nothing for [api] idle timeout, or less than
  /// [api] min_transfer_bytes in a transfer window), InvalidArgument (malformed chunked
  /// encoding). Empty (no target) on other routes.
  contentio::Source body_source;

  /// Path parameter `name`; empty when the route has none of that name.
  std::string_view param(std::string_view name) const;
  /// Query parameter `name`, or nullopt when absent.
  std::optional<std::string_view> query_param(std::string_view name) const;
  /// Every value of query parameter `name`, in order ("filter=a&filter=b" -> {"a", "b"}).
  std::vector<std::string_view> query_params(std::string_view name) const;
  /// Header `name` (case-insensitive); empty when absent.
  std::string_view header(std::string_view name) const;
  /// The body parsed as JSON; InvalidArgument for an empty body or malformed JSON.
  Result<json::value> json_body() const;
};

/// Checks the framing headers of a request before its body is read. Transfer-Encoding may only
/// be "chunked" (the one coding the server decodes): any other coding, e.g. "gzip, chunked", is
/// NotImplemented (501), naming the header. Transfer-Encoding given twice, malformed (an empty
/// coding) or together with Content-Length is InvalidArgument (400).
Status check_framing(const http::fields& headers);

/// Builds a Request from a method, a target, headers and a body: splits the query off the
/// target and decodes it. InvalidArgument for a malformed query.
Result<Request> make_request(http::verb method, std::string_view target, http::fields headers,
                             std::string body);

} // namespace strata::host::api
