#include "api/server.hpp"

#include "api/connection.hpp"
#include "api/socket_file.hpp"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace strata::host::api {
namespace asio = boost::asio;
using asio::local::stream_protocol;

// Everything the asynchronous accept loop touches. Shared with the pending handlers so that it
// outlives the Server object if the io_context still holds them when the Server goes away.
class ServerState : public std::enable_shared_from_this<ServerState> {
public:
  ServerState(asio::io_context& io, const Router& router, const ServerOptions& options)
      : io_(io), router_(router), options_(options), acceptor_(io), retry_(io),
        workers_(std::make_shared<StreamWorkers>(options.max_streams)) {}

  Status start();
  void stop();

private:
  Status bind_and_listen(const std::string& bind_path);
  void arm();
  void on_accept(const boost::system::error_code& ec, stream_protocol::socket socket);

  asio::io_context& io_;
  const Router& router_;
  const ServerOptions options_;

  // Guards the acceptor and the timer (touched by the accept loop on any thread and by stop()
  // from another) and the connection list.
  std::mutex mutex_;
  stream_protocol::acceptor acceptor_;
  asio::steady_timer retry_;
  bool started_ = false;
  bool stopped_ = false;
  std::optional<FileId> socket_id_;
  std::vector<std::weak_ptr<Connection>> connections_;
  std::shared_ptr<StreamWorkers> workers_;
};

namespace {

constexpr std::size_t max_socket_path = sizeof(sockaddr_un::sun_path) - 1;

// The socket is bound under a private name next to its final one, given its mode, then renamed
// into place: clients never see it with the umask's mode.
std::string staging_path(const std::string& socket_path) {
  std::filesystem::path p(socket_path);
  return (p.parent_path() / fmt::format(".{}.{}.tmp", p.filename().string(), ::getpid())).string();
}

} // namespace

Status ServerState::bind_and_listen(const std::string& bind_path) {
  boost::system::error_code ec;
  acceptor_.open(stream_protocol(), ec);
  if (!ec)
    acceptor_.bind(stream_protocol::endpoint(bind_path), ec);
  if (ec)
    return unavailable(
        fmt::format("cannot bind the API socket {}: {}", options_.socket_path, ec.message()));
  if (::chmod(bind_path.c_str(), options_.mode) != 0)
    return unavailable(fmt::format("cannot set mode {:04o} on the API socket {}: {}", options_.mode,
                                   options_.socket_path, std::strerror(errno)));
  acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return unavailable(
        fmt::format("cannot listen on the API socket {}: {}", options_.socket_path, ec.message()));
  return {};
}

Status ServerState::start() {
  const auto& path = options_.socket_path;
  std::lock_guard lock(mutex_);
  if (started_)
    return failed_precondition("the API server on " + path + " was already started");
  if (path.empty())
    return invalid_argument("the API socket path is empty; set [api] address");
  if (path.size() > max_socket_path)
    return invalid_argument(fmt::format("the API socket path {} is {} bytes long; unix sockets "
                                        "allow at most {}; choose a shorter [api] address",
                                        path, path.size(), max_socket_path));
  if (auto st = ensure_parent_dir(path); !st)
    return st;
  if (auto st = clear_stale_socket(path); !st)
    return st;

  auto staging = staging_path(path);
  bool staged = staging.size() <= max_socket_path;
  if (staged)
    ::unlink(staging.c_str()); // left by a crashed process with our pid, or nothing
  auto st = bind_and_listen(staged ? staging : path);
  if (st && staged)
    st = publish_socket(staging, path);
  if (!st) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    ::unlink(staged ? staging.c_str() : path.c_str());
    return st;
  }
  socket_id_ = file_id(path);
  started_ = true;
  spdlog::debug("api: serving on {} (mode {:04o})", path, options_.mode);
  arm();
  return {};
}

// Called with mutex_ held.
void ServerState::arm() {
  if (stopped_)
    return;
  // Each connection gets its own strand, so its handlers never run concurrently while
  // different connections proceed in parallel on the io_context's threads.
  acceptor_.async_accept(asio::make_strand(io_),
                         [self = shared_from_this()](const boost::system::error_code& ec,
                                                     stream_protocol::socket socket) {
                           self->on_accept(ec, std::move(socket));
                         });
}

void ServerState::on_accept(const boost::system::error_code& ec, stream_protocol::socket socket) {
  if (ec == asio::error::operation_aborted)
    return;
  std::unique_lock lock(mutex_);
  if (stopped_)
    return;
  if (ec) {
    // Out of descriptors or memory: retrying at once would spin, so wait a little.
    spdlog::warn("api: accept on {} failed: {}; retrying", options_.socket_path, ec.message());
    retry_.expires_after(std::chrono::milliseconds(100));
    retry_.async_wait([self = shared_from_this()](const boost::system::error_code& wait_ec) {
      if (wait_ec)
        return;
      std::lock_guard relock(self->mutex_);
      self->arm();
    });
    return;
  }
  auto connection = std::make_shared<Connection>(
      std::move(socket), router_, ConnectionLimits{options_.max_body_bytes, options_.idle_timeout},
      workers_);
  std::erase_if(connections_, [](const auto& c) { return c.expired(); });
  connections_.push_back(connection);
  arm();
  lock.unlock();
  connection->start();
}

void ServerState::stop() {
  std::vector<std::weak_ptr<Connection>> connections;
  {
    std::lock_guard lock(mutex_);
    if (!stopped_) {
      stopped_ = true;
      boost::system::error_code ignored;
      acceptor_.close(ignored);
      retry_.cancel();
      // Another server may have replaced the file since (after we were declared dead); only
      // our own socket is removed.
      if (socket_id_ && file_id(options_.socket_path) == socket_id_)
        ::unlink(options_.socket_path.c_str());
      connections.swap(connections_);
    }
  }
  for (auto& weak : connections)
    if (auto c = weak.lock())
      c->shutdown();
  // Every caller, not only the first, returns once the streaming handlers are over.
  workers_->stop_and_wait();
}

Server::Server(asio::io_context& io, const Router& router, ServerOptions options)
    : options_(std::move(options)), state_(std::make_shared<ServerState>(io, router, options_)) {}

Server::~Server() {
  stop();
}

Status Server::start() {
  return state_->start();
}

void Server::stop() {
  state_->stop();
}

} // namespace strata::host::api
