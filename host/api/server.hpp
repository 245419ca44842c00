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
};

class ServerState;

/// Serves `router` on a unix socket. Accepts concurrently; each connection runs on its own
/// strand, so the io_context may be run by several threads; handlers of streaming routes run on
/// threads of their own (see Streaming). The router must outlive the server and not change once
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
  /// handlers see Cancelled). Returns once no streaming handler runs any more, so the router
  /// and whatever its handlers use may go away afterwards. Idempotent; safe from any thread
  /// but a streaming handler's.
  void stop();

  const ServerOptions& options() const noexcept { return options_; }

private:
  ServerOptions options_;
  std::shared_ptr<ServerState> state_;
};

} // namespace strata::host::api
