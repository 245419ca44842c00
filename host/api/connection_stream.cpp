// The streaming half of Connection: requests whose route is registered with Streaming::upload
// or Streaming::download. The handler runs on a worker thread; the socket stays on the strand,
// which the worker drives one operation at a time through handoff_.

#include "api/connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

namespace strata::host::api {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

// Bytes moved per hand-off: large enough that the strand round trip costs little next to the
// copy, small enough that a slow client's chunk does not sit half-read for long.
constexpr std::size_t stream_chunk = 256 * 1024;

// What a failed socket operation means to the handler reading or writing a stream.
Error transfer_error(const beast::error_code& ec, std::string_view doing,
                     std::chrono::steady_clock::duration idle_timeout) {
  if (ec == beast::error::timeout)
    return Error(
        Code::DeadlineExceeded,
        fmt::format("{}: the client made no progress for {} s", doing,
                    std::chrono::duration_cast<std::chrono::seconds>(idle_timeout).count()));
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof || ec == asio::error::connection_reset ||
      ec == asio::error::broken_pipe || ec == asio::error::operation_aborted)
    return Error(Code::Cancelled, fmt::format("{}: the client went away", doing));
  if (is_http_error(ec))
    return invalid_argument(fmt::format("{}: malformed request body: {}", doing, ec.message()));
  return unavailable(fmt::format("{}: socket error: {}", doing, ec.message()));
}

std::string describe(const Request& request) {
  return fmt::format("{} {}", http::to_string(request.method), request.path);
}

} // namespace

// ---- on the strand ----

void Connection::start_upload() {
  upload_.emplace(std::move(*parser_));
  parser_.reset();
  upload_->body_limit(boost::none);
  auto& header = upload_->get();
  expect_continue_ = beast::iequals(header[http::field::expect], "100-continue");
  body_done_ = false;
  std::string target(header.target());
  http::fields fields = header.base();
  auto request = make_request(header.method(), target, std::move(fields), {});
  // Whatever happens, the body is unread: the connection cannot serve another request.
  if (!request)
    return send(Response::error(request.error()), false);
  run_streaming(std::move(*request), header.keep_alive());
}

void Connection::run_streaming(Request request, bool keep_alive) {
  window_waited_ = {};
  window_bytes_ = 0;
  cut_off_.reset();
  auto self = shared_from_this();
  Status started =
      services_.streams
          ? services_.streams->spawn(peer_,
                                     [self, request = std::move(request), keep_alive]() mutable {
                                       self->serve_streaming(std::move(request), keep_alive);
                                     })
          : unavailable("this server runs no streaming requests");
  if (!started)
    send(Response::error(started.error()), keep_alive && !streaming_.upload);
}

void Connection::begin_transfer() {
  op_pending_ = true;
  op_started_ = std::chrono::steady_clock::now();
  op_progress_ = 0;
  op_counted_ = 0;
  ++op_;
  if (limits_.min_transfer_bytes == 0)
    return;
  rate_timer_.expires_after(limits_.transfer_window - window_waited_);
  rate_timer_.async_wait([self = shared_from_this(), op = op_](beast::error_code ec) {
    if (!ec)
      self->on_window_end(op);
  });
}

// A window ran out while an operation still waits on the client.
void Connection::on_window_end(std::uint64_t op) {
  if (op != op_ || !op_pending_ || cut_off_)
    return;
  window_bytes_ += op_progress_ - op_counted_;
  op_counted_ = op_progress_;
  if (window_bytes_ < limits_.min_transfer_bytes) {
    cut_off();
    // The pending operation completes with operation_aborted, and end_transfer() turns that
    // into cut_off_.
    beast::error_code ignored;
    stream_.socket().cancel(ignored);
    return;
  }
  window_waited_ = {};
  window_bytes_ = 0;
  op_started_ = std::chrono::steady_clock::now();
  rate_timer_.expires_after(limits_.transfer_window);
  rate_timer_.async_wait([self = shared_from_this(), op](beast::error_code ec) {
    if (!ec)
      self->on_window_end(op);
  });
}

std::optional<Error> Connection::end_transfer(std::uint64_t bytes) {
  op_pending_ = false;
  rate_timer_.cancel();
  if (cut_off_ || limits_.min_transfer_bytes == 0)
    return cut_off_;
  window_waited_ += std::chrono::steady_clock::now() - op_started_;
  window_bytes_ += bytes - std::min(bytes, op_counted_);
  if (window_waited_ >= limits_.transfer_window) {
    if (window_bytes_ < limits_.min_transfer_bytes)
      return cut_off();
    window_waited_ = {};
    window_bytes_ = 0;
  }
  return {};
}

const Error& Connection::cut_off() {
  cut_off_ = Error(
      Code::DeadlineExceeded,
      fmt::format("the client moved {} bytes of the body in {} s, fewer than the {} "
                  "required ([api] min_transfer_bytes per transfer_window_seconds); the "
                  "transfer was cut off so that it does not hold a streaming slot",
                  window_bytes_,
                  std::chrono::duration_cast<std::chrono::seconds>(limits_.transfer_window).count(),
                  limits_.min_transfer_bytes));
  spdlog::warn("api: client pid {}: {}", peer_.pid, cut_off_->message());
  return *cut_off_;
}

void Connection::read_body_some(std::size_t want, Handoff::Done done) {
  // The client asked to hear that we want the body before sending it; it is told so only once
  // the handler actually reads, so a request refused before that never transfers its body.
  if (expect_continue_) {
    expect_continue_ = false;
    interim_.emplace(http::status::continue_, upload_->get().version());
    stream_.expires_after(limits_.idle_timeout);
    return http::async_write(
        stream_, *interim_,
        [self = shared_from_this(), want, done = std::move(done)](beast::error_code ec,
                                                                  std::size_t) mutable {
          if (ec)
            return done(transfer_error(ec, "sending 100 Continue", self->limits_.idle_timeout));
          self->read_body_some(want, std::move(done));
        });
  }
  if (upload_->is_done())
    return done(std::size_t{0});
  auto& body = upload_->get().body();
  body.data = upload_chunk_.data();
  body.size = want;
  stream_.expires_after(limits_.idle_timeout);
  begin_transfer();
  http::async_read_some(
      stream_, buffer_, *upload_,
      [self = shared_from_this(), want, done = std::move(done)](beast::error_code ec,
                                                                std::size_t) mutable {
        if (ec == http::error::need_buffer)
          ec = {};
        std::size_t n = want - self->upload_->get().body().size;
        if (auto cut = self->end_transfer(n))
          return done(std::move(*cut));
        if (ec)
          return done(transfer_error(ec, "reading the request body", self->limits_.idle_timeout));
        // Chunk headers alone give no body bytes; 0 is reserved for the end.
        if (n == 0 && !self->upload_->is_done())
          return self->read_body_some(want, std::move(done));
        done(n);
      });
}

void Connection::write_stream_head(Response response, std::optional<std::uint64_t> size,
                                   bool keep_alive, Handoff::Done done) {
  auto& head = stream_head_.emplace(static_cast<http::status>(response.status), 11);
  set_response_fields(head, response);
  head.keep_alive(keep_alive && !stopping_);
  stream_keep_alive_ = head.keep_alive();
  stream_chunked_ = !size;
  if (size)
    head.content_length(*size);
  else
    head.chunked(true);
  auto& writer = stream_head_writer_.emplace(head);
  stream_.expires_after(limits_.idle_timeout);
  http::async_write_header(
      stream_, writer,
      [self = shared_from_this(), done = std::move(done)](beast::error_code ec, std::size_t) {
        if (ec)
          return done(
              transfer_error(ec, "sending the response header", self->limits_.idle_timeout));
        done(std::size_t{0});
      });
}

void Connection::write_stream_chunk(std::size_t n, Handoff::Done done) {
  auto on_written = [self = shared_from_this(), n, done = std::move(done)](beast::error_code ec,
                                                                           std::size_t sent) {
    if (auto cut = self->end_transfer(sent))
      return done(std::move(*cut));
    if (ec)
      return done(transfer_error(ec, "sending the response body", self->limits_.idle_timeout));
    done(n);
  };
  // Called on the strand after every partial write: a client reading slowly but steadily is
  // credited before the whole chunk is out.
  auto progress = [self = shared_from_this()](const beast::error_code& ec,
                                              std::size_t sent) -> std::size_t {
    self->op_progress_ = sent;
    return ec ? 0 : stream_chunk;
  };
  auto bytes = asio::buffer(download_chunk_.data(), n);
  stream_.expires_after(limits_.idle_timeout);
  begin_transfer();
  if (stream_chunked_)
    asio::async_write(stream_, http::make_chunk(bytes), progress, std::move(on_written));
  else
    asio::async_write(stream_, bytes, progress, std::move(on_written));
}

void Connection::write_stream_end(Handoff::Done done) {
  if (!stream_chunked_)
    return done(std::size_t{0});
  stream_.expires_after(limits_.idle_timeout);
  asio::async_write(
      stream_, http::make_chunk_last(),
      [self = shared_from_this(), done = std::move(done)](beast::error_code ec, std::size_t) {
        if (ec)
          return done(transfer_error(ec, "ending the response body", self->limits_.idle_timeout));
        done(std::size_t{0});
      });
}

// ---- on the worker thread ----

void Connection::serve_streaming(Request request, bool keep_alive) {
  if (streaming_.upload) {
    upload_chunk_.resize(stream_chunk);
    request.body_source = [this](std::span<std::byte> buf) { return pull_body(buf); };
  }
  auto response = router_.dispatch(request);
  request.body_source = nullptr;
  spdlog::debug("api: {} -> {}{}", describe(request), response.status,
                response.body_stream ? " (streamed)" : "");
  // Cancelled (the server is stopping): an operation handed to the strand may still be pending
  // on the socket, and only closing it ends that operation safely.
  if (handoff_.cancelled())
    return asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
  // A body the handler did not read to its end is still arriving: no second request follows.
  if (streaming_.upload && !body_done_)
    keep_alive = false;
  if (response.body_stream)
    return pump_body(request, std::move(response), keep_alive);
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), response = std::move(response), keep_alive]() mutable {
               self->send(std::move(response), keep_alive);
             });
}

Result<std::size_t> Connection::pull_body(std::span<std::byte> buf) {
  if (body_done_)
    return std::size_t{0};
  if (buf.empty())
    return invalid_argument("reading the request body into an empty buffer");
  const std::size_t want = std::min(buf.size(), upload_chunk_.size());
  auto n =
      handoff_.call(stream_.get_executor(), [self = shared_from_this(), want](Handoff::Done done) {
        self->read_body_some(want, std::move(done));
      });
  if (!n)
    return n;
  if (*n == 0)
    body_done_ = true;
  else
    std::memcpy(buf.data(), upload_chunk_.data(), *n);
  return n;
}

void Connection::pump_body(const Request& request, Response response, bool keep_alive) {
  auto body = std::move(*response.body_stream);
  response.body_stream.reset();
  download_chunk_.resize(stream_chunk);
  auto self = shared_from_this();
  auto ex = stream_.get_executor();

  auto pull = [&]() -> Result<std::size_t> {
    auto n = body.source(std::span(download_chunk_));
    if (n && *n > download_chunk_.size())
      return Error(Code::DataLoss, fmt::format("the body source returned {} bytes for a buffer "
                                               "of {}",
                                               *n, download_chunk_.size()));
    return n;
  };
  // The first bytes are read before the header goes out, so a body that cannot even start
  // (an unreadable blob) still gets a proper error response.
  auto n = pull();
  if (!n) {
    spdlog::debug("api: {}: the response body failed before it started: {}", describe(request),
                  n.error().to_string());
    return asio::post(ex, [self, error = n.error(), keep_alive] {
      self->send(Response::error(error), keep_alive);
    });
  }
  auto head = handoff_.call(ex, [self, response = std::move(response), size = body.size,
                                 keep_alive](Handoff::Done done) mutable {
    self->write_stream_head(std::move(response), size, keep_alive, std::move(done));
  });
  if (!head)
    return abort_stream(request, head.error());

  std::uint64_t sent = 0;
  while (*n > 0) {
    if (body.size && sent + *n > *body.size)
      return abort_stream(
          request, Error(Code::DataLoss, fmt::format("the body source yields more than the {} "
                                                     "bytes announced",
                                                     *body.size)));
    auto written = handoff_.call(ex, [self, count = *n](Handoff::Done done) {
      self->write_stream_chunk(count, std::move(done));
    });
    if (!written)
      return abort_stream(request, written.error());
    sent += *n;
    n = pull();
    if (!n)
      return abort_stream(request, n.error().wrap(fmt::format("at byte {}", sent)));
  }
  if (body.size && sent != *body.size)
    return abort_stream(
        request, Error(Code::DataLoss, fmt::format("the body source ended after {} of the {} "
                                                   "bytes announced",
                                                   sent, *body.size)));
  auto end = handoff_.call(ex, [self](Handoff::Done done) { self->write_stream_end(done); });
  if (!end)
    return abort_stream(request, end.error());
  asio::post(ex, [self] { self->on_written({}, self->stream_keep_alive_); });
}

void Connection::abort_stream(const Request& request, const Error& error) {
  // The status line is out: the only way left to say "this body is not whole" is to end the
  // connection before its end (no last chunk, or fewer bytes than Content-Length).
  spdlog::warn("api: {}: response body cut off: {}", describe(request), error.to_string());
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close(); });
}

} // namespace strata::host::api
