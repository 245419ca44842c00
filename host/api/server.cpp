#include "api/server.hpp"

#include "api/connection.hpp"
#include "api/socket_file.hpp"

#include <strata/plugin/try.hpp>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/beast/http/write.hpp>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <sys/resource.h>
#include <sys/socket.h>
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
        workers_(
            std::make_shared<StreamWorkers>(options.max_streams, options.max_streams_per_client)),
        pool_(std::make_shared<WorkerPool>(options.workers)) {}
  ~ServerState() {
    if (spare_fd_ >= 0)
      ::close(spare_fd_);
  }

  Status start();
  void stop();

private:
  Status bind_and_listen(const std::string& bind_path);
  void arm();
  void on_accept(const boost::system::error_code& ec, stream_protocol::socket socket);
  void on_accept_error(const boost::system::error_code& ec);
  void shed_queued();
  Error over_cap_error() const;

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
  std::deque<std::weak_ptr<Connection>> over_cap_; ///< past max_connections, oldest first
  std::shared_ptr<StreamWorkers> workers_;
  std::shared_ptr<WorkerPool> pool_;
  int spare_fd_ = -1;           ///< given up to accept one client when out of descriptors
  bool accept_failing_ = false; ///< logged once per run of failures, not every 100 ms
};

namespace {

constexpr std::size_t max_socket_path = sizeof(sockaddr_un::sun_path) - 1;

// The socket is bound under a private name next to its final one, given its mode, then renamed
// into place: clients never see it with the umask's mode.
std::string staging_path(const std::string& socket_path) {
  std::filesystem::path p(socket_path);
  return (p.parent_path() / fmt::format(".{}.{}.tmp", p.filename().string(), ::getpid())).string();
}

Peer peer_of(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return {};
  return Peer{static_cast<long>(cred.pid), static_cast<long>(cred.uid)};
}

// Answers `fd` 503 with `error` without reading its request, for clients the server has no
// room for at all. Best effort and never blocking: a fresh socket's buffer holds the few
// hundred bytes, and the client reads them before it sees the connection end.
void refuse_now(int fd, const Error& error) {
  http::response<http::string_body> res{http::status::service_unavailable, 11};
  set_response_fields(res, Response::error(error, 503));
  res.body() = json::serialize(Response::error_body(error)) + "\n";
  res.keep_alive(false);
  res.prepare_payload();
  std::ostringstream out;
  out << res;
  const std::string text = out.str();
  [[maybe_unused]] auto sent = ::send(fd, text.data(), text.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_RDWR);
}

std::string fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return "unknown";
  return std::to_string(lim.rlim_cur);
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
  STRATA_TRY(ensure_parent_dir(path));
  STRATA_TRY(clear_stale_socket(path));

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
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
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
  if (ec)
    return on_accept_error(ec);
  accept_failing_ = false;
  std::erase_if(connections_, [](const auto& c) { return c.expired(); });
  std::erase_if(over_cap_, [](const auto& c) { return c.expired(); });
  std::optional<Error> over;
  if (connections_.size() >= options_.max_connections) {
    over = over_cap_error();
    // Evicted connections close once answered; while many are still closing (a flood), new
    // ones are refused at once so that descriptors stay bounded.
    if (over_cap_.size() >= 2 * options_.over_cap_reserve) {
      spdlog::debug("api: refusing a connection at once: {}", over->message());
      refuse_now(socket.native_handle(), *over);
      boost::system::error_code ignored;
      socket.close(ignored);
      arm();
      return;
    }
    // The newest over-cap connections get their request read, the oldest waiting one is
    // answered 503 at once: a health probe that comes after a flood of idle connections is
    // still answered.
    if (over_cap_.size() >= options_.over_cap_reserve)
      if (auto oldest = over_cap_[over_cap_.size() - options_.over_cap_reserve].lock())
        oldest->evict();
  }
  const Peer peer = peer_of(socket.native_handle());
  ConnectionLimits limits{options_.max_body_bytes, options_.idle_timeout,
                          options_.min_transfer_bytes, options_.transfer_window};
  auto connection = std::make_shared<Connection>(std::move(socket), router_, limits,
                                                 ConnectionServices{workers_, pool_}, peer, over);
  connections_.push_back(connection);
  if (over)
    over_cap_.push_back(connection);
  arm();
  lock.unlock();
  connection->start();
}

Error ServerState::over_cap_error() const {
  return unavailable(fmt::format("stratad serves at most {} connections at once ([api] "
                                 "max_connections) and has no room for this one; close idle "
                                 "connections or retry later",
                                 options_.max_connections));
}

// Called with mutex_ held.
void ServerState::on_accept_error(const boost::system::error_code& ec) {
  const bool out_of_fds = ec == asio::error::no_descriptors || ec.value() == ENFILE;
  if (!accept_failing_)
    spdlog::warn("api: accept on {} failed: {}{}; answering 503 and retrying every 100 ms",
                 options_.socket_path, ec.message(),
                 out_of_fds ? fmt::format(" (RLIMIT_NOFILE {})", fd_limit()) : "");
  accept_failing_ = true;
  if (out_of_fds)
    shed_queued();
  // Retrying at once would spin, so wait a little.
  retry_.expires_after(std::chrono::milliseconds(100));
  retry_.async_wait([self = shared_from_this()](const boost::system::error_code& wait_ec) {
    if (wait_ec)
      return;
    std::lock_guard relock(self->mutex_);
    self->arm();
  });
}

// Called with mutex_ held. Takes the clients the kernel queued off the queue, answering each
// 503, with the one descriptor held in reserve: without that, every retry would fail on the
// same queued connection, and its client would wait for nothing.
void ServerState::shed_queued() {
  if (spare_fd_ < 0)
    return;
  ::close(spare_fd_);
  spare_fd_ = -1;
  const auto error = unavailable(fmt::format("stratad is out of file descriptors (RLIMIT_NOFILE "
                                             "{}); raise its limit (LimitNOFILE=) or lower [api] "
                                             "max_connections",
                                             fd_limit()));
  // Bounded, so that a flood of connections cannot keep the accept loop here.
  for (int i = 0; i < 256; ++i) {
    int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
      break;
    refuse_now(fd, error);
    ::close(fd);
  }
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
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
      over_cap_.clear();
    }
  }
  for (auto& weak : connections)
    if (auto c = weak.lock())
      c->shutdown();
  // Every caller, not only the first, returns once the handlers are over.
  workers_->stop_and_wait();
  pool_->stop_and_wait();
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
