#include "api/connection.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>

namespace strata::host::api {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

// Headers are small in this API (no cookies, no auth tokens); 16 KiB leaves room for long
// snapshot keys in the target while bounding what one client can make us buffer.
constexpr std::uint32_t header_limit = 16 * 1024;

// After refusing a request whose body is still arriving, the rest of it is read and dropped
// for this long so the client sees the error response instead of a broken pipe.
constexpr auto linger_time = std::chrono::seconds(5);

} // namespace

bool is_http_error(const beast::error_code& ec) {
  return ec.category() == beast::http::make_error_code(http::error::bad_method).category();
}

void set_response_fields(http::fields& out, const Response& response) {
  out.set(http::field::server, "stratad");
  out.set(http::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers)
    out.set(name, value);
}

Connection::Connection(Socket socket, const Router& router, ConnectionLimits limits,
                       ConnectionServices services, Peer peer, std::optional<Error> over_cap)
    : stream_(std::move(socket)), router_(router), limits_(limits), services_(std::move(services)),
      peer_(peer), over_cap_(std::move(over_cap)), over_cap_timer_(stream_.get_executor()),
      rate_timer_(stream_.get_executor()) {}

void Connection::start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    if (self->over_cap_) {
      // The stream's own timeout would close the socket without a word: this timer answers.
      self->over_cap_timer_.expires_after(self->limits_.over_cap_timeout);
      self->over_cap_timer_.async_wait([self](beast::error_code ec) {
        if (!ec)
          self->refuse_over_cap();
      });
    }
    self->read_header();
  });
}

void Connection::evict() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->refuse_over_cap(); });
}

void Connection::refuse_over_cap() {
  if (!over_cap_ || !idle_ || evicted_)
    return;
  // The pending header read completes with operation_aborted; on_header() answers.
  evicted_ = true;
  beast::error_code ignored;
  stream_.socket().cancel(ignored);
}

void Connection::shutdown() {
  // A worker blocked on this connection's socket must not wait for a strand that may never run
  // again: it is woken here, on the caller's thread.
  handoff_.cancel(Error(Code::Cancelled, "stratad is stopping"));
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    if (self->idle_)
      self->close();
  });
}

void Connection::read_header() {
  if (stopping_)
    return close();
  upload_.reset();
  parser_.emplace();
  parser_->header_limit(header_limit);
  // No limit while reading the header: the parser would refuse a large Content-Length without
  // saying how large; on_header() checks it and sets the limit for the body.
  parser_->body_limit(boost::none);
  idle_ = true;
  stream_.expires_after(limits_.idle_timeout);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_header(ec); });
}

void Connection::on_header(beast::error_code ec) {
  idle_ = false;
  if (over_cap_)
    over_cap_timer_.cancel();
  if (ec && evicted_)
    return reject(*over_cap_, 503);
  if (ec)
    return on_read_error(ec);
  if (auto st = check_framing(parser_->get().base()); !st)
    return reject(st.error(), st.error().code() == Code::NotImplemented ? 501 : 400);
  auto target = parser_->get().target();
  std::string_view path(target.data(), target.size());
  streaming_ = router_.streaming(parser_->get().method(), path.substr(0, path.find('?')));
  // Past the cap only the quick routes are served, so that probes still get their answer.
  if (over_cap_ && !streaming_.quick)
    return reject(*over_cap_, 503);
  if (streaming_.upload)
    return start_upload(); // no limit: the handler reads the body as it arrives
  // A declared length over the limit is refused before reading any of the body.
  if (auto length = parser_->content_length(); length && *length > limits_.max_body_bytes)
    return reject(Error(Code::ResourceExhausted,
                        fmt::format("request body of {} bytes exceeds the limit of {} bytes "
                                    "([api] max_body_bytes)",
                                    *length, limits_.max_body_bytes)),
                  413);
  // Chunked bodies have no declared length: the parser enforces the limit as they arrive.
  parser_->body_limit(limits_.max_body_bytes);
  // curl and other clients wait for "100 Continue" before sending a large body.
  if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
    interim_.emplace(http::status::continue_, parser_->get().version());
    stream_.expires_after(limits_.idle_timeout);
    return http::async_write(stream_, *interim_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec)
                                 return self->close();
                               self->read_body();
                             });
  }
  read_body();
}

void Connection::read_body() {
  stream_.expires_after(limits_.idle_timeout);
  http::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
}

void Connection::on_body(beast::error_code ec) {
  if (ec)
    return on_read_error(ec);
  answer();
}

void Connection::on_read_error(beast::error_code ec) {
  // The client left, went quiet too long, or the server is stopping: nothing to answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || !is_http_error(ec))
    return close();
  if (ec == http::error::body_limit)
    return reject(Error(Code::ResourceExhausted,
                        fmt::format("request body exceeds the limit of {} bytes ([api] "
                                    "max_body_bytes)",
                                    limits_.max_body_bytes)),
                  413);
  if (ec == http::error::header_limit)
    return reject(invalid_argument(fmt::format("request header exceeds {} bytes", header_limit)),
                  400);
  reject(invalid_argument("malformed HTTP request: " + ec.message()), 400);
}

void Connection::answer() {
  auto message = parser_->release();
  bool keep_alive = message.keep_alive();
  // The target lives in the header's storage, so it is copied before the header moves.
  std::string target(message.target());
  auto request =
      make_request(message.method(), target, std::move(message.base()), std::move(message.body()));
  if (!request)
    return send(Response::error(request.error()), keep_alive);
  if (streaming_.download || streaming_.long_running)
    return run_streaming(std::move(*request), keep_alive);
  if (!streaming_.quick && services_.pool)
    return dispatch_on_pool(std::move(*request), keep_alive);
  auto response = router_.dispatch(*request);
  spdlog::debug("api: {} {} -> {}", http::to_string(request->method), request->path,
                response.status);
  send(std::move(response), keep_alive);
}

// The handler may block in a plugin call for seconds (removing a large snapshot): it runs on
// the pool, and the strand only writes its response.
void Connection::dispatch_on_pool(Request request, bool keep_alive) {
  auto self = shared_from_this();
  bool queued = services_.pool->post([self, request = std::move(request), keep_alive]() mutable {
    auto response = self->router_.dispatch(request);
    spdlog::debug("api: {} {} -> {}", http::to_string(request.method), request.path,
                  response.status);
    asio::post(self->stream_.get_executor(),
               [self, response = std::move(response), keep_alive]() mutable {
                 self->send(std::move(response), keep_alive);
               });
  });
  if (!queued)
    send(Response::error(unavailable("stratad is stopping")), false);
}

void Connection::send(Response response, bool keep_alive) {
  auto& out = response_.emplace(static_cast<http::status>(response.status), 11);
  set_response_fields(out, response);
  if (response.status != 204 && response.status != 304)
    out.body() = response.raw_body ? std::move(*response.raw_body)
                                   // A trailing newline so that curl output ends its line.
                                   : json::serialize(response.body) + "\n";
  out.keep_alive(keep_alive && !stopping_ && !over_cap_);
  out.prepare_payload();
  stream_.expires_after(limits_.idle_timeout);
  http::async_write(stream_, out,
                    [self = shared_from_this(), keep = out.keep_alive()](
                        beast::error_code ec, std::size_t) { self->on_written(ec, keep); });
}

void Connection::on_written(beast::error_code ec, bool keep_alive) {
  response_.reset();
  if (ec)
    return close();
  // Past the cap the connection's place is wanted: no lingering (the client still reads what
  // was sent before the close).
  if (!keep_alive)
    return over_cap_ ? close() : linger();
  read_header();
}

void Connection::reject(const Error& error, int status) {
  spdlog::debug("api: refusing a request: {}", error.to_string());
  // The rest of the request is unread, so the connection cannot serve another one.
  send(Response::error(error, status), false);
}

// Half-closes and drains what the client still sends, so that a client blocked writing a body
// we refused gets to read our response rather than EPIPE.
void Connection::linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(Socket::shutdown_send, ignored);
  stream_.expires_after(linger_time);
  auto drain = std::make_shared<std::array<char, 16 * 1024>>();
  struct Drainer {
    std::shared_ptr<Connection> self;
    std::shared_ptr<std::array<char, 16 * 1024>> buf;
    void operator()(beast::error_code ec, std::size_t) {
      if (ec)
        return self->close();
      self->stream_.async_read_some(asio::buffer(*buf), std::move(*this));
    }
  };
  Drainer{shared_from_this(), drain}({}, 0);
}

void Connection::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(Socket::shutdown_both, ignored);
  stream_.close();
}

} // namespace strata::host::api
