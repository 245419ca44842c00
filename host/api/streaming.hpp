#pragma once
// Routes whose bodies stream: request bodies pulled from the socket as the client sends them,
// response bodies produced while they are sent. Neither is ever held whole in memory.

#include <strata/contentio/stream.hpp>

#include <cstdint>
#include <optional>

namespace strata::host::api {

/// How a route moves its bodies and where its handler runs. A route with no flag gets its
/// request body in Request::body (at most [api] max_body_bytes), may not return a BodyStream,
/// and runs on the server's worker pool ([api] workers), never on an I/O thread, so a plugin
/// call that blocks (removing a large snapshot) delays nobody else.
/// A route with upload, download or long_running runs on a thread of its own, so a handler
/// blocked on a slow client or a slow disk delays nobody else.
struct Streaming {
  /// The handler pulls the request body from Request::body_source as it arrives (chunked or
  /// with Content-Length), with no size limit but the handler's own.
  bool upload = false;
  /// The handler may return Response::streamed(): its body is pulled from a Source while it is
  /// sent.
  bool download = false;
  /// The handler may take long (applying a layer, say) though its bodies are small: the request
  /// body is buffered as for a plain route, and the handler runs on a thread of its own.
  bool long_running = false;
  /// The handler answers at once from memory and never blocks (health, plugin listing): it runs
  /// on the I/O thread, so it answers even when every worker is busy, and it is served to
  /// connections past the server's connection cap.
  bool quick = false;
  bool any() const noexcept { return upload || download || long_running; }
  bool operator==(const Streaming&) const = default;
};

/// The flag sets routes are registered with.
namespace streaming {
inline constexpr Streaming none{};
inline constexpr Streaming upload{true, false};
inline constexpr Streaming download{false, true};
inline constexpr Streaming both{true, true};
inline constexpr Streaming long_running{false, false, true};
inline constexpr Streaming quick{false, false, false, true};
} // namespace streaming

/// A response body produced as it is sent. With `size` the response carries Content-Length and
/// the source must yield exactly that many bytes; without, it is sent chunked. A source that
/// fails, or yields more or fewer bytes than `size`, ends the connection without completing the
/// body, so the client sees a truncated response rather than a short blob taken as whole.
struct BodyStream {
  contentio::Source source;
  std::optional<std::uint64_t> size;
};

} // namespace strata::host::api
