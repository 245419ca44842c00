#pragma once
// The API server: HTTP/1.1 + JSON on a unix socket, on the daemon's io_context.

#include "api/router.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace strata::host::api {

struct ServerOptions {
  std::string socket_path;
  std::uint64_t max_body_bytes = 4 * 1024 * 1024; ///< larger bodies get 413
  unsigned mode = 0660;                           ///< of the socket file
  /// A connection that sends nothing (or too slowly) for this long is closed, so slow clients
  /// cannot pin connections forever.
  std::chrono::seconds idle_timeout{30};
  /// Requests of streaming routes served at once, each on a thread of its own; more get 503.
  std::size_t max_streams = 64;
  /// Of those, how many one client process (SO_PEERCRED pid) may hold; more get 503.
  std::size_t max_streams_per_client = 16;
  /// A streamed body that moves fewer bytes than this in `transfer_window` spent waiting on its
  /// client is cut off (DeadlineExceeded, logged); 0: no such check.
  std::uint64_t min_transfer_bytes = 16384;
  std::chrono::seconds transfer_window{10};
  /// Threads running the handlers of plain routes (see Streaming).
  std::size_t workers = 8;
  /// Connections served at once. Past it, `over_cap_reserve` more connections get one request
  /// of a quick route (health, plugin listing) answered, and 503 for anything else; newer ones
  /// take the place of older ones still waiting, so a probe arriving last is answered.
  std::size_t max_connections = 512;
  std::size_t over_cap_reserve = 16;
};

class ServerState;

/// Serves `router` on a unix socket. Accepts concurrently; each connection runs on its own
/// strand, so the io_context may be run by several threads; handlers run on a worker pool or,
/// for streaming routes, on threads of their own (see Streaming). Out of file descriptors, it
/// answers the next client 503 from a descriptor kept in reserve and backs off, instead of
/// spinning on accept. The router must outlive the server and not change once
/// start() was called.
class Server {
public:
  Server(boost::asio::io_context& io, const Router& router, ServerOptions options);
  /// Stops (see stop()).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Creates the socket's directory (0711) when missing, replaces a stale socket file, binds,
  /// sets the mode and starts accepting. Unavailable when a live server answers on the socket;
  /// FailedPrecondition when the path is something other than a socket; InvalidArgument for a
  /// path too long for a unix socket.
  Status start();

  /// Stops accepting, removes the socket file (if it is still ours) and ends the connections:
  /// idle ones at once, busy ones after their response, streaming transfers at once (their
  /// handlers see Cancelled). Returns once no handler runs any more (the worker pool finishes
  /// the requests it holds), so the router and whatever its handlers use may go away
  /// afterwards. Idempotent; safe from any thread but a handler's.
  void stop();

  const ServerOptions& options() const noexcept { return options_; }

private:
  ServerOptions options_;
  std::shared_ptr<ServerState> state_;
};

} // namespace strata::host::api
