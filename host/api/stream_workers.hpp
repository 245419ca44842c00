#pragma once
// The threads handlers run on, so that a handler blocked on a slow client, a slow disk or a slow
// plugin call never holds one of the server's few I/O threads.

#include "strata/plugin/error.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace strata::host::api {

/// Who is at the other end of a connection: the process that connected (SO_PEERCRED). 0 when
/// the kernel did not say.
struct Peer {
  long pid = 0;
  long uid = -1;
};

/// Runs each job on a thread of its own, at most `limit` at a time and at most
/// `per_client_limit` for one client process, and lets the server wait for them when it stops.
/// Thread-safe.
class StreamWorkers : public std::enable_shared_from_this<StreamWorkers> {
public:
  StreamWorkers(std::size_t limit, std::size_t per_client_limit)
      : limit_(limit), per_client_limit_(per_client_limit) {}

  /// Starts `job` on a new thread for `client`. Unavailable (and `job` not run) when `limit`
  /// jobs are running, when `client` runs `per_client_limit` of them, when stop_and_wait() was
  /// called, or when the system has no thread to spare; the message names the limit and its
  /// [api] key.
  Status spawn(const Peer& client, std::function<void()> job);

  /// Refuses new jobs and returns once every running job has ended and released what it held.
  /// The jobs must be able to end without the caller (the server cancels their transfers first).
  void stop_and_wait();

  /// Jobs running now.
  std::size_t running() const;

private:
  void finished(long pid);

  const std::size_t limit_;
  const std::size_t per_client_limit_;
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t running_ = 0;
  std::map<long, std::size_t> per_client_; ///< running jobs by client pid
  bool stopped_ = false;
};

/// A fixed number of threads running queued jobs in order: the handlers of plain routes, whose
/// plugin calls may block for seconds. Thread-safe.
class WorkerPool {
public:
  /// Starts `threads` threads (at least one).
  explicit WorkerPool(std::size_t threads);
  /// stop_and_wait().
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `job`; false (and `job` not run) once stop_and_wait() was called.
  bool post(std::function<void()> job);

  /// Refuses new jobs, runs the queued ones to their end and joins the threads. Idempotent; not
  /// from one of the pool's own jobs.
  void stop_and_wait();

private:
  void run();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  bool stopped_ = false;
  std::mutex join_mutex_; ///< concurrent stop_and_wait() callers all return after the join
  std::vector<std::thread> threads_;
};

} // namespace strata::host::api
