#include "api/handoff.hpp"

#include <boost/asio/post.hpp>

#include <memory>

namespace strata::host::api {

Result<std::size_t> Handoff::call(const boost::asio::any_io_executor& strand,
                                  std::function<void(Done)> start) {
  std::uint64_t id;
  {
    std::lock_guard lock(mutex_);
    if (cancelled_)
      return *cancelled_;
    id = ++call_id_;
    result_.reset();
  }
  // The handoff outlives the wait only as long as the connection holding it; the strand's
  // operation keeps that connection alive through its own handler.
  Done done = [this, id](Result<std::size_t> r) {
    std::lock_guard lock(mutex_);
    if (id != call_id_ || result_)
      return;
    result_ = std::move(r);
    wake_.notify_all();
  };
  boost::asio::post(strand, [start = std::move(start), done = std::move(done)]() mutable {
    start(std::move(done));
  });
  std::unique_lock lock(mutex_);
  wake_.wait(lock, [&] { return result_.has_value() || cancelled_.has_value(); });
  if (result_) {
    auto r = std::move(*result_);
    result_.reset();
    return r;
  }
  return *cancelled_;
}

void Handoff::cancel(Error why) {
  std::lock_guard lock(mutex_);
  if (!cancelled_)
    cancelled_ = std::move(why);
  wake_.notify_all();
}

bool Handoff::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_.has_value();
}

} // namespace strata::host::api
