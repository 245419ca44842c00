#include "client.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <fmt/format.h>

#include <limits>
#include <vector>

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

template <class Message> void set_common_fields(Message& req) {
  req.set(http::field::host, "strata");
  req.set(http::field::user_agent, "strata-cli");
  req.set(http::field::accept, "application/json");
  req.keep_alive(false);
}

// Bytes read from a source or a socket per step of a transfer.
constexpr std::size_t upload_chunk = std::size_t(1) << 20;

} // namespace

Client::Client(std::string socket_path) : socket_path_(std::move(socket_path)) {}

Result<json::value> Client::get(std::string_view path) const {
  return request(http::verb::get, path);
}

Result<json::value> Client::post(std::string_view path, const json::value& body) const {
  return request(http::verb::post, path, &body);
}

Result<stream_protocol::socket> Client::connect(asio::io_context& io) const {
  stream_protocol::socket socket(io);
  boost::system::error_code ec;
  // sun_path holds 107 bytes; the endpoint refuses longer paths by throwing.
  if (socket_path_.empty() || socket_path_.size() > 107)
    return invalid_argument(fmt::format("\"{}\" cannot be a unix socket path (1 to 107 bytes); {}",
                                        socket_path_, address_hint));
  socket.connect(stream_protocol::endpoint(socket_path_), ec);
  if (ec)
    return connect_error(socket_path_, ec);
  return socket;
}

Result<json::value> Client::read_answer(stream_protocol::socket& socket, http::verb method,
                                        std::string_view path,
                                        boost::system::error_code write_ec) const {
  boost::system::error_code ec;
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

Result<json::value> Client::request(http::verb method, std::string_view path,
                                    const json::value* body) const {
  asio::io_context io;
  auto socket = connect(io);
  if (!socket)
    return std::move(socket).error();

  http::request<http::string_body> req{method, path, 11};
  set_common_fields(req);
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(*body);
  }
  req.prepare_payload();

  boost::system::error_code ec;
  http::write(*socket, req, ec);
  // The server may refuse (413) before reading the whole body and close its side; its answer
  // is still readable, so a failed write is only reported when no response follows.
  return read_answer(*socket, method, path, ec);
}

Result<json::value> Client::upload(http::verb method, std::string_view path,
                                   const contentio::Source& body,
                                   std::optional<std::uint64_t> size) const {
  asio::io_context io;
  auto socket = connect(io);
  if (!socket)
    return std::move(socket).error();

  http::request<http::empty_body> req{method, path, 11};
  set_common_fields(req);
  req.set(http::field::content_type, "application/octet-stream");
  if (size)
    req.content_length(*size);
  else
    req.chunked(true);
  http::request_serializer<http::empty_body> header(req);
  boost::system::error_code ec;
  http::write_header(*socket, header, ec);
  if (ec)
    return read_answer(*socket, method, path, ec);

  std::vector<std::byte> buf(upload_chunk);
  std::uint64_t sent = 0;
  for (;;) {
    // An answer before the end of the body is final (a refusal, or a blob stratad has
    // already): the rest would only be drained and dropped.
    if (socket->available(ec) > 0 || ec)
      return read_answer(*socket, method, path, ec);
    auto n = body(std::span(buf));
    // Leaving without completing the body makes stratad drop the upload.
    if (!n)
      return std::move(n).error();
    if (*n > buf.size())
      return Error(
          Code::DataLoss,
          fmt::format("the upload source returned {} bytes for a buffer of {}", *n, buf.size()));
    if (*n == 0)
      break;
    if (size && sent + *n > *size)
      return failed_precondition(
          fmt::format("the data grew while it was sent: more than the {} bytes announced", *size));
    auto bytes = asio::buffer(buf.data(), *n);
    if (size)
      asio::write(*socket, bytes, ec);
    else
      asio::write(*socket, http::make_chunk(bytes), ec);
    if (ec)
      return read_answer(*socket, method, path, ec);
    sent += *n;
  }
  if (size && sent != *size)
    return failed_precondition(fmt::format(
        "the data shrank while it was sent: {} of the {} bytes announced", sent, *size));
  if (!size)
    asio::write(*socket, http::make_chunk_last(), ec);
  return read_answer(*socket, method, path, ec);
}

Status Client::download(std::string_view path, const contentio::Sink& sink) const {
  return download(http::verb::get, path, nullptr, sink);
}

Status Client::download(http::verb method, std::string_view path, const json::value* body,
                        const contentio::Sink& sink) const {
  asio::io_context io;
  auto socket = connect(io);
  if (!socket)
    return std::move(socket).error();

  http::request<http::string_body> req{method, path, 11};
  set_common_fields(req);
  req.set(http::field::accept, "application/octet-stream, application/x-ndjson, application/json");
  if (body) {
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(*body);
  }
  req.prepare_payload();
  boost::system::error_code ec;
  http::write(*socket, req, ec);

  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  if (!ec)
    http::read_header(*socket, buffer, parser, ec);
  if (ec)
    return unavailable(fmt::format("lost the connection to stratad at {} during {} {}: {}",
                                   socket_path_, http::to_string(method), path, ec.message()));
  int status = parser.get().result_int();
  if (status < 200 || status > 299) {
    http::response_parser<http::string_body> rest(std::move(parser));
    rest.body_limit(64 * 1024);
    http::read(*socket, buffer, rest, ec);
    return error_from_response(status, rest.get().reason(), rest.get().body());
  }

  std::vector<std::byte> buf(upload_chunk);
  std::uint64_t received = 0;
  while (!parser.is_done()) {
    auto& b = parser.get().body();
    b.data = buf.data();
    b.size = buf.size();
    // read_some: a body that trickles (progress lines) reaches the sink as it comes.
    http::read_some(*socket, buffer, parser, ec);
    if (ec == http::error::need_buffer)
      ec = {};
    const std::size_t n = buf.size() - parser.get().body().size;
    if (n > 0) {
      if (auto st = sink(std::span<const std::byte>(buf.data(), n)); !st)
        return st;
      received += n;
    }
    if (ec)
      return Error(Code::DataLoss,
                   fmt::format("{} {}: the body ended incomplete after {} bytes ({}); stratad "
                               "cut it off, see its log",
                               http::to_string(method), path, received, ec.message()));
  }
  return {};
}

std::string encode_segment(std::string_view segment) {
  // RFC 3986's unreserved characters plus ':' and '@', which a segment may hold as they are
  // ("sha256:..." stays readable); everything else, sub-delimiters included, is escaped so that
  // no router or proxy can read a '/', '?', '+' or ';' in a name as structure.
  static constexpr auto segment_chars = boost::urls::unreserved_chars + ':' + '@';
  return boost::urls::encode(segment, segment_chars);
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
