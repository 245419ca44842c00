#include "api/stream_workers.hpp"

#include <spdlog/spdlog.h>

#include <system_error>
#include <thread>

namespace strata::host::api {

bool StreamWorkers::spawn(std::function<void()> job) {
  {
    std::lock_guard lock(mutex_);
    if (stopped_ || running_ >= limit_)
      return false;
    ++running_;
  }
  try {
    // Detached: the count, not a join, tells stop_and_wait() when the job is over. The job and
    // everything it captured are destroyed before the count drops, so nothing the server owns
    // is touched after stop_and_wait() returns.
    std::thread([self = shared_from_this(), job = std::move(job)]() mutable {
      try {
        job();
      } catch (const std::exception& e) {
        spdlog::error("api: a streaming request failed: {}", e.what());
      } catch (...) {
        spdlog::error("api: a streaming request failed with a non-standard exception");
      }
      job = nullptr;
      std::lock_guard lock(self->mutex_);
      if (--self->running_ == 0)
        self->idle_.notify_all();
    }).detach();
  } catch (const std::system_error& e) {
    spdlog::warn("api: cannot start a thread for a streaming request: {}", e.what());
    std::lock_guard lock(mutex_);
    if (--running_ == 0)
      idle_.notify_all();
    return false;
  }
  return true;
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

} // namespace strata::host::api
