#pragma once
// One client connection: reads requests, answers them through the router, keeps alive.

#include "api/handoff.hpp"
#include "api/router.hpp"
#include "api/stream_workers.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

namespace strata::host::api {

/// The limits one connection enforces.
struct ConnectionLimits {
  std::uint64_t max_body_bytes = 0;
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(30);
};

/// True when `ec` reports a malformed HTTP message rather than a socket failure.
bool is_http_error(const boost::beast::error_code& ec);

/// Sets the fields every response carries: Server, Content-Type and the handler's own headers.
void set_response_fields(http::fields& out, const Response& response);

/// Serves one accepted socket until the client leaves, misbehaves or times out. All its socket
/// work runs on the socket's executor, which must be a strand: the object itself needs no lock.
/// Requests of streaming routes (see Streaming) run on a thread from `workers`; that thread
/// touches the socket only through operations it hands to the strand (see Handoff).
class Connection : public std::enable_shared_from_this<Connection> {
public:
  using Socket = boost::asio::local::stream_protocol::socket;

  Connection(Socket socket, const Router& router, ConnectionLimits limits,
             std::shared_ptr<StreamWorkers> workers);

  /// Starts reading requests; the connection keeps itself alive while it has work.
  void start();

  /// Asks the connection to end: closed at once when waiting for a request, after the response
  /// being prepared otherwise; a streaming transfer in progress is cut off at once (its handler
  /// sees Cancelled). Safe from any thread.
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

  // Streaming routes (connection_stream.cpp). On the strand:
  void start_upload();
  void run_streaming(Request request, bool keep_alive);
  void read_body_some(std::size_t want, Handoff::Done done);
  void write_stream_head(Response response, std::optional<std::uint64_t> size, bool keep_alive,
                         Handoff::Done done);
  void write_stream_chunk(std::size_t n, Handoff::Done done);
  void write_stream_end(Handoff::Done done);
  // On the worker thread:
  void serve_streaming(Request request, bool keep_alive);
  Result<std::size_t> pull_body(std::span<std::byte> buf);
  void pump_body(const Request& request, Response response, bool keep_alive);
  void abort_stream(const Request& request, const Error& error);

  Stream stream_;
  const Router& router_;
  ConnectionLimits limits_;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response<http::empty_body>> interim_;
  bool idle_ = false;     ///< waiting for the next request (nothing of it read yet)
  bool stopping_ = false; ///< the server is stopping: no keep-alive

  // Streaming state. The strand sets it up before the worker starts and does not touch it
  // while the worker runs, except inside the operations the worker hands it.
  std::shared_ptr<StreamWorkers> workers_;
  Handoff handoff_;
  Streaming streaming_; ///< flags of the current request's route
  std::optional<http::request_parser<http::buffer_body>> upload_;
  bool expect_continue_ = false;          ///< "100 Continue" owed before the first body read
  bool body_done_ = false;                ///< the worker has read the whole request body
  std::vector<std::byte> upload_chunk_;   ///< a body read lands here; the worker copies it out
  std::vector<std::byte> download_chunk_; ///< the worker fills it; the strand writes it out
  std::optional<http::response<http::empty_body>> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> stream_head_writer_;
  bool stream_chunked_ = false;
  bool stream_keep_alive_ = false;
};

} // namespace strata::host::api
