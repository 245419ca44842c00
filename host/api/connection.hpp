#pragma once
// One client connection: reads requests, answers them through the router, keeps alive.

#include "api/handoff.hpp"
#include "api/router.hpp"
#include "api/stream_workers.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
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
  /// A streamed body must move this many bytes in every `transfer_window` spent waiting on the
  /// client, or it is cut off; 0: no such check.
  std::uint64_t min_transfer_bytes = 0;
  std::chrono::steady_clock::duration transfer_window = std::chrono::seconds(10);
  /// How long a connection over the server's connection cap may take to send its request.
  std::chrono::steady_clock::duration over_cap_timeout = std::chrono::seconds(2);
};

/// What a connection shares with the server.
struct ConnectionServices {
  std::shared_ptr<StreamWorkers> streams; ///< threads of streaming routes
  std::shared_ptr<WorkerPool> pool;       ///< threads of plain routes; null: the I/O thread
};

/// True when `ec` reports a malformed HTTP message rather than a socket failure.
bool is_http_error(const boost::beast::error_code& ec);

/// Sets the fields every response carries: Server, Content-Type and the handler's own headers.
void set_response_fields(http::fields& out, const Response& response);

/// Serves one accepted socket until the client leaves, misbehaves or times out. All its socket
/// work runs on the socket's executor, which must be a strand: the object itself needs no lock.
/// Requests of streaming routes (see Streaming) run on a thread from `services.streams`, those
/// of plain routes on `services.pool`, quick ones on the strand; a worker touches the socket
/// only through operations it hands to the strand (see Handoff).
class Connection : public std::enable_shared_from_this<Connection> {
public:
  using Socket = boost::asio::local::stream_protocol::socket;

  /// `over_cap`, when set, is why the server has no room for this connection: it then serves
  /// one request of a quick route (health, plugin listing) and answers anything else, or
  /// nothing within limits.over_cap_timeout, with 503 and `over_cap`'s message.
  Connection(Socket socket, const Router& router, ConnectionLimits limits,
             ConnectionServices services, Peer peer, std::optional<Error> over_cap = {});

  /// Starts reading requests; the connection keeps itself alive while it has work.
  void start();

  /// For a connection over the cap: answers 503 at once if it is still waiting for its request
  /// (the server needs its place for a newer one). Safe from any thread.
  void evict();

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
  void dispatch_on_pool(Request request, bool keep_alive);
  void refuse_over_cap();
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
  // The minimum transfer rate (see ConnectionLimits::min_transfer_bytes), around each socket
  // operation of a stream body; end_transfer() gets the bytes the operation moved and returns
  // the error to complete it with once the stream was cut off for moving too little.
  void begin_transfer();
  std::optional<Error> end_transfer(std::uint64_t bytes);
  void on_window_end(std::uint64_t op);
  const Error& cut_off(); ///< records and logs why the stream is cut off

  // On the worker thread:
  void serve_streaming(Request request, bool keep_alive);
  Result<std::size_t> pull_body(std::span<std::byte> buf);
  void pump_body(const Request& request, Response response, bool keep_alive);
  void abort_stream(const Request& request, const Error& error);

  Stream stream_;
  const Router& router_;
  ConnectionLimits limits_;
  ConnectionServices services_;
  Peer peer_;
  std::optional<Error> over_cap_;
  boost::asio::steady_timer over_cap_timer_;
  bool evicted_ = false;
  boost::beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response<http::empty_body>> interim_;
  bool idle_ = false;     ///< waiting for the next request (nothing of it read yet)
  bool stopping_ = false; ///< the server is stopping: no keep-alive

  // Streaming state. The strand sets it up before the worker starts and does not touch it
  // while the worker runs, except inside the operations the worker hands it.
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
  // The transfer-rate window, on the strand: time spent waiting on the client and bytes moved
  // in it, the operation pending (its number, start, bytes moved so far and those of them
  // counted in an earlier window), and the error once the stream was cut off.
  boost::asio::steady_timer rate_timer_;
  std::chrono::steady_clock::duration window_waited_{};
  std::uint64_t window_bytes_ = 0;
  std::uint64_t op_ = 0;
  bool op_pending_ = false;
  std::chrono::steady_clock::time_point op_started_;
  std::uint64_t op_progress_ = 0;
  std::uint64_t op_counted_ = 0;
  std::optional<Error> cut_off_;
};

} // namespace strata::host::api
