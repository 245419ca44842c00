#include "client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <fmt/format.h>

#include <limits>

namespace strata::cli {
namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::local::stream_protocol;

namespace {

constexpr std::string_view address_hint = "set --address or STRATA_ADDRESS";

Error connect_error(const std::string& socket_path, const boost::system::error_code& ec) {
  if (ec == asio::error::access_denied)
    return Error(Code::PermissionDenied,
                 fmt::format("cannot reach stratad at {}: {}; the socket admits its owner and "
                             "group only: run as root or as a member of its group ({})",
                             socket_path, ec.message(), address_hint));
  return unavailable(fmt::format("cannot reach stratad at {}: {}; is stratad running? ({})",
                                 socket_path, ec.message(), address_hint));
}

// The server's {"code","message"} when it sent one; otherwise what the status says.
Error error_from_response(int status, std::string_view reason, const std::string& body) {
  boost::system::error_code ec;
  auto v = json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    auto code = o.if_contains("code");
    auto message = o.if_contains("message");
    if (code && code->is_string() && message && message->is_string())
      return Error(parse_code(code->get_string()).value_or(code_for_status(status)),
                   std::string(message->get_string()));
  }
  std::string text = body.substr(0, 200);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  return Error(code_for_status(status), fmt::format("stratad answered HTTP {} {}{}{}", status,
                                                    reason, text.empty() ? "" : ": ", text));
}

} // namespace

Client::Client(std::string socket_path) : socket_path_(std::move(socket_path)) {}

Result<json::value> Client::get(std::string_view path) const {
  return request(http::verb::get, path);
}

Result<json::value> Client::post(std::string_view path, const json::value& body) const {
  return request(http::verb::post, path, &body);
}

Result<json::value> Client::request(http::verb method, std::string_view path,
                                    const json::value* body) const {
  asio::io_context io;
  stream_protocol::socket socket(io);
  boost::system::error_code ec;
  // sun_path holds 107 bytes; the endpoint refuses longer paths by throwing.
  if (socket_path_.empty() || socket_path_.size() > 107)
    return invalid_argument(fmt::format("\"{}\" cannot be a unix socket path (1 to 107 bytes); {}",
                                        socket_path_, address_hint));
  socket.connect(stream_protocol::endpoint(socket_path_), ec);
  if (ec)
    return connect_error(socket_path_, ec);

  http::request<http::string_body> req{method, path, 11};
  req.set(http::field::host, "strata");
  req.set(http::field::user_agent, "strata-cli");
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(*body);
  }
  req.prepare_payload();

  http::write(socket, req, ec);
  // The server may refuse (413) before reading the whole body and close its side; its answer
  // is still readable, so a failed write is only reported when no response follows.
  auto write_ec = ec;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  http::read(socket, buffer, parser, ec);
  if (ec)
    return unavailable(fmt::format("lost the connection to stratad at {} during {} {}: {}",
                                   socket_path_, http::to_string(method), path,
                                   (write_ec ? write_ec : ec).message()));
  auto& res = parser.get();
  int status = res.result_int();
  if (status < 200 || status > 299)
    return error_from_response(status, res.reason(), res.body());
  if (res.body().empty())
    return json::value(nullptr);
  auto parsed =
      parse_json(res.body(), fmt::format("response to {} {}", http::to_string(method), path));
  if (!parsed)
    return internal_error(parsed.error().message());
  return parsed;
}

std::string encode_segment(std::string_view segment) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : segment) {
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~' || c == ':' || c == '@';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

Code code_for_status(int status) noexcept {
  switch (status) {
  case 400:
  case 405:
  case 431:
    return Code::InvalidArgument;
  case 401:
    return Code::Unauthenticated;
  case 403:
    return Code::PermissionDenied;
  case 404:
    return Code::NotFound;
  case 409:
    return Code::AlreadyExists;
  case 412:
    return Code::FailedPrecondition;
  case 413:
  case 429:
    return Code::ResourceExhausted;
  case 499:
    return Code::Cancelled;
  case 501:
    return Code::NotImplemented;
  case 503:
    return Code::Unavailable;
  case 504:
    return Code::DeadlineExceeded;
  default:
    return status >= 500 ? Code::Internal : Code::Unknown;
  }
}

} // namespace strata::cli
