#pragma once
// A worker thread waiting for asynchronous operations that run on a connection's strand: how a
// streaming handler, which blocks, reads and writes a socket that only the strand may touch.

#include "strata/plugin/error.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace strata::host::api {

/// One worker and one strand take turns: the worker posts an operation and sleeps until the
/// strand reports its result. cancel() wakes the worker at once, whatever the strand does, so
/// a worker never waits on an io_context that stopped running.
class Handoff {
public:
  /// Reports an operation's result; called on the strand, exactly once per operation.
  using Done = std::function<void(Result<std::size_t>)>;

  /// Posts `start(done)` to `strand` and waits for `done`. Buffers the operation uses must not
  /// belong to the caller's stack: after a cancel the operation may still be running.
  /// Errors: the operation's; the cancel() error once cancelled (before or during the wait).
  Result<std::size_t> call(const boost::asio::any_io_executor& strand,
                           std::function<void(Done)> start);

  /// Fails the waiting call() and every later one with `why`. The first reason is kept.
  /// Safe from any thread.
  void cancel(Error why);

  /// True once cancel() was called.
  bool cancelled() const;

private:
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::uint64_t call_id_ = 0; // results of an earlier, abandoned call are ignored
  std::optional<Result<std::size_t>> result_;
  std::optional<Error> cancelled_;
};

} // namespace strata::host::api
