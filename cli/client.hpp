#pragma once
// The CLI's HTTP client: one synchronous request per call to stratad over its unix socket.

#include "strata/plugin/json.hpp"

#include <strata/contentio/stream.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstdint>
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

  /// Sends the bytes `body` yields as the request body (application/octet-stream) while it reads
  /// them: with Content-Length when `size` is set, chunked otherwise; never all in memory.
  /// Answers as request() does. When stratad answers before the body is complete (a refusal, or
  /// a blob it has already), sending stops there and that answer is returned. Errors: as
  /// request(); the source's (the request is then abandoned: the server never sees a complete
  /// body); FailedPrecondition when the source yields more or fewer than `size` bytes.
  Result<json::value> upload(http::verb method, std::string_view path,
                             const contentio::Source& body,
                             std::optional<std::uint64_t> size = std::nullopt) const;

  /// GET `path` and hands the body of a 2xx answer to `sink` as it arrives. Errors: as
  /// request() for the answer; DataLoss when the body ends before it is complete (the server
  /// cut it off); the sink's errors.
  Status download(std::string_view path, const contentio::Sink& sink) const;
  /// download() with any method and, unless null, a JSON request body; the sink sees the body
  /// as it arrives, so a body written over time (progress lines) is read over time.
  Status download(http::verb method, std::string_view path, const json::value* body,
                  const contentio::Sink& sink) const;

  const std::string& address() const noexcept { return socket_path_; }

private:
  using Socket = boost::asio::local::stream_protocol::socket;
  // A socket connected to stratad; Unavailable/PermissionDenied/InvalidArgument as request().
  Result<Socket> connect(boost::asio::io_context& io) const;
  // The answer to a request just sent; `write_ec` is the send's failure, reported only when
  // no answer can be read.
  Result<json::value> read_answer(Socket& socket, http::verb method, std::string_view path,
                                  boost::system::error_code write_ec) const;

  std::string socket_path_;
};

/// Percent-encodes one path segment so that names holding '/', '%', '?' or spaces (snapshot
/// keys, image references) stay one segment: "a/b c" -> "a%2Fb%20c". Every byte but RFC 3986's
/// unreserved characters, ':' and '@' is escaped (uppercase hex). Never fails.
std::string encode_segment(std::string_view segment);

/// The error code that fits an HTTP status when the server sent no error body.
Code code_for_status(int status) noexcept;

} // namespace strata::cli
