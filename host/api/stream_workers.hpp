#pragma once
// The threads streaming handlers run on, so that a handler blocked on a slow client or a slow
// disk never holds one of the server's few I/O threads.

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>

namespace strata::host::api {

/// Runs each job on a thread of its own, at most `limit` at a time, and lets the server wait for
/// them when it stops. Thread-safe.
class StreamWorkers : public std::enable_shared_from_this<StreamWorkers> {
public:
  explicit StreamWorkers(std::size_t limit) : limit_(limit) {}

  /// Starts `job` on a new thread. False (and `job` not run) when `limit` jobs are running, when
  /// stop_and_wait() was called, or when the system has no thread to spare.
  bool spawn(std::function<void()> job);

  /// Refuses new jobs and returns once every running job has ended and released what it held.
  /// The jobs must be able to end without the caller (the server cancels their transfers first).
  void stop_and_wait();

  /// Jobs running now.
  std::size_t running() const;

private:
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t running_ = 0;
  bool stopped_ = false;
};

} // namespace strata::host::api
