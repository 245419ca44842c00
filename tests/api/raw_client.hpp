#pragma once
// A bare synchronous HTTP client on a unix socket for the server tests: it sends exactly what a
// test asks for (including garbage) and reports what came back, with no interpretation.

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <string>

namespace strata::test {

namespace http = boost::beast::http;

class RawClient {
public:
  using Response = http::response<http::string_body>;

  explicit RawClient(const std::string& socket_path) : socket_(io_) {
    socket_.connect(boost::asio::local::stream_protocol::endpoint(socket_path));
  }

  /// Sends one request on this connection (keep-alive) and reads the response.
  Response request(http::verb method, const std::string& target, const std::string& body = {},
                   bool chunked = false) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, "strata");
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    if (chunked)
      req.chunked(true);
    else
      req.prepare_payload();
    http::write(socket_, req);
    return read();
  }

  /// Sends raw bytes as they are.
  void send_raw(const std::string& bytes) {
    boost::asio::write(socket_, boost::asio::buffer(bytes));
  }

  /// Reads one response; throws on a closed connection or a malformed response.
  Response read() {
    Response res;
    http::read(socket_, buffer_, res);
    return res;
  }

  /// Reads one response whatever its size (the default parser stops at 8 MiB).
  Response read_large() {
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);
    http::read(socket_, buffer_, parser);
    return parser.release();
  }

  /// Ends the connection at once, as a client that goes away mid-request.
  void close() {
    boost::system::error_code ignored;
    socket_.shutdown(boost::asio::local::stream_protocol::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  /// True when the server closed the connection (the next read sees end of stream).
  bool closed_by_server() {
    char c;
    boost::system::error_code ec;
    socket_.read_some(boost::asio::buffer(&c, 1), ec);
    return ec == boost::asio::error::eof || ec == boost::asio::error::connection_reset;
  }

  static boost::json::value json(const Response& res) { return boost::json::parse(res.body()); }

private:
  boost::asio::io_context io_;
  boost::asio::local::stream_protocol::socket socket_;
  boost::beast::flat_buffer buffer_;
};

} // namespace strata::test
