#pragma once
// One client connection: reads requests, answers them through the router, keeps alive.

#include "api/router.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

namespace strata::host::api {

/// The limits one connection enforces.
struct ConnectionLimits {
  std::uint64_t max_body_bytes = 0;
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(30);
};

/// Serves one accepted socket until the client leaves, misbehaves or times out. All its work
/// runs on the socket's executor, which must be a strand: the object itself needs no lock.
class Connection : public std::enable_shared_from_this<Connection> {
public:
  using Socket = boost::asio::local::stream_protocol::socket;

  Connection(Socket socket, const Router& router, ConnectionLimits limits);

  /// Starts reading requests; the connection keeps itself alive while it has work.
  void start();

  /// Asks the connection to end: closed at once when waiting for a request, after the response
  /// being prepared otherwise. Safe from any thread.
  void shutdown();

private:
  using Stream = boost::beast::basic_stream<boost::asio::local::stream_protocol>;

  void read_header();
  void on_header(boost::beast::error_code ec);
  void read_body();
  void on_body(boost::beast::error_code ec);
  void on_read_error(boost::beast::error_code ec);
  void answer();
  void send(Response response, bool keep_alive);
  void on_written(boost::beast::error_code ec, bool keep_alive);
  void reject(const Error& error, int status);
  void linger();
  void close();

  Stream stream_;
  const Router& router_;
  ConnectionLimits limits_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response<http::empty_body>> interim_;
  bool idle_ = false;     ///< waiting for the next request (nothing of it read yet)
  bool stopping_ = false; ///< the server is stopping: no keep-alive
};

} // namespace strata::host::api
