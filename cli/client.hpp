#pragma once
// The CLI's HTTP client: one synchronous request per call to stratad over its unix socket.

#include "strata/plugin/json.hpp"

#include <boost/beast/http/verb.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace strata::cli {

namespace http = boost::beast::http;

/// Talks JSON to stratad. Each call opens its own connection: the CLI makes few requests and a
/// fresh connection never meets a keep-alive socket the server already timed out.
class Client {
public:
  /// `socket_path`: the unix socket stratad serves, e.g. /run/strata/strata.sock.
  explicit Client(std::string socket_path);

  /// GET `path` (already percent-encoded, see encode_segment).
  Result<json::value> get(std::string_view path) const;
  /// POST `path` with a JSON body.
  Result<json::value> post(std::string_view path, const json::value& body) const;
  /// Any method; no body when `body` is null. A 2xx response yields its JSON (null when the
  /// body is empty). Anything else yields an Error: the server's {"code","message"} when it sent
  /// one, else a code that fits the HTTP status. A socket that cannot be reached is Unavailable
  /// (PermissionDenied when its mode keeps us out), naming the socket and how to choose another.
  Result<json::value> request(http::verb method, std::string_view path,
                              const json::value* body = nullptr) const;

  const std::string& address() const noexcept { return socket_path_; }

private:
  std::string socket_path_;
};

/// Percent-encodes one path segment so that names holding '/', '%', '?' or spaces (snapshot
/// keys, image references) stay one segment: "a/b c" -> "a%2Fb%20c".
std::string encode_segment(std::string_view segment);

/// The error code that fits an HTTP status when the server sent no error body.
Code code_for_status(int status) noexcept;

} // namespace strata::cli
