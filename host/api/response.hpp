#pragma once
// What a handler returns: a status and a JSON document, a raw body with its content type, or
// a body streamed from a Source.

#include "api/streaming.hpp"
#include "strata/plugin/json.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strata::host::api {

/// The HTTP status that fits the code (404 for NotFound, 409 for AlreadyExists, ...): what the
/// API answers an error with.
int http_status(Code code) noexcept;

struct Response {
  /// A JSON document with `status`.
  static Response json(json::value body, int status = 200);
  /// {"code": "NotFound", "message": "..."} with the status that fits the code.
  static Response error(const Error& error);
  /// The JSON an error is answered with: {"code": "NotFound", "message": "..."}.
  static json::value error_body(const Error& error);
  /// Like error(e) with a status chosen by the caller (e.g. 413 for a body over the limit).
  static Response error(const Error& error, int status);
  /// The value of `result` with `status`, or its error.
  static Response from(Result<json::value> result, int status = 200);
  /// A body that is not JSON (e.g. a blob), sent as is.
  static Response raw(std::string body, std::string content_type, int status = 200);
  /// A body pulled from `source` while it is sent (see BodyStream); only routes registered with
  /// Streaming::download may return one.
  static Response streamed(contentio::Source source, std::optional<std::uint64_t> size,
                           std::string content_type = "application/octet-stream", int status = 200);

  int status = 200;
  json::value body;                      ///< serialised when raw_body is not set
  std::optional<std::string> raw_body;   ///< sent as is with content_type
  std::optional<BodyStream> body_stream; ///< sent as produced, with content_type
  std::string content_type = "application/json";
  /// Headers beyond Content-Type and Content-Length, e.g. {"Allow", "GET, POST"}.
  std::vector<std::pair<std::string, std::string>> headers;
};

} // namespace strata::host::api
