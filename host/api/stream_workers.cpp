#include "api/stream_workers.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <system_error>

namespace strata::host::api {

namespace {

// A job's exception must not end the process: it is logged and the thread goes on.
void run_guarded(std::function<void()>& job, const char* what) {
  try {
    job();
  } catch (const std::exception& e) {
    spdlog::error("api: {} failed: {}", what, e.what());
  } catch (...) {
    spdlog::error("api: {} failed with a non-standard exception", what);
  }
}

} // namespace

Status StreamWorkers::spawn(const Peer& client, std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_)
      return unavailable("stratad is stopping");
    if (running_ >= limit_)
      return unavailable(fmt::format("stratad is serving as many streaming requests as it allows "
                                     "at once ({}, [api] max_streams); retry later",
                                     limit_));
    auto& mine = per_client_[client.pid];
    if (mine >= per_client_limit_)
      return unavailable(fmt::format("this client (pid {}) already holds {} streaming requests, "
                                     "as many as one client may ([api] max_streams_per_client); "
                                     "finish one first or retry later",
                                     client.pid, mine));
    ++mine;
    ++running_;
  }
  try {
    // Detached: the count, not a join, tells stop_and_wait() when the job is over. The job and
    // everything it captured are destroyed before the count drops, so nothing the server owns
    // is touched after stop_and_wait() returns.
    std::thread([self = shared_from_this(), job = std::move(job), pid = client.pid]() mutable {
      run_guarded(job, "a streaming request");
      job = nullptr;
      self->finished(pid);
    }).detach();
  } catch (const std::system_error& e) {
    spdlog::warn("api: cannot start a thread for a streaming request: {}", e.what());
    finished(client.pid);
    return unavailable(fmt::format("stratad cannot start a thread for a streaming request: {}; "
                                   "retry later",
                                   e.what()));
  }
  return {};
}

void StreamWorkers::finished(long pid) {
  std::lock_guard lock(mutex_);
  if (auto it = per_client_.find(pid); it != per_client_.end() && --it->second == 0)
    per_client_.erase(it);
  if (--running_ == 0)
    idle_.notify_all();
}

void StreamWorkers::stop_and_wait() {
  std::unique_lock lock(mutex_);
  stopped_ = true;
  idle_.wait(lock, [this] { return running_ == 0; });
}

std::size_t StreamWorkers::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

WorkerPool::WorkerPool(std::size_t threads) {
  for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i)
    threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  stop_and_wait();
}

bool WorkerPool::post(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_)
      return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void WorkerPool::run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
      if (queue_.empty())
        return; // stopped and drained
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    run_guarded(job, "a request");
  }
}

void WorkerPool::stop_and_wait() {
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
  }
  wake_.notify_all();
  std::lock_guard join(join_mutex_);
  for (auto& t : threads_)
    if (t.joinable())
      t.join();
}

} // namespace strata::host::api
