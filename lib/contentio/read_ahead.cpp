#include "strata/contentio/read_ahead.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace strata::contentio {

namespace {

struct Chunk {
  std::vector<std::byte> data; // capacity: options.buffer_size once allocated
  std::size_t size = 0;        // bytes of the stream in data
};

// What the consumer and the worker share. `upstream` belongs to the worker once it started (to
// the consumer when no thread could be started); everything else is guarded by `m`.
struct Channel {
  Channel(Source up, ReadAheadOptions o) : upstream(std::move(up)), options(o) {}

  Source upstream;
  const ReadAheadOptions options;

  std::mutex m;
  std::condition_variable to_worker;   // a buffer came back, or stop
  std::condition_variable to_consumer; // a buffer was filled, or the stream ended
  std::deque<Chunk> ready;             // filled buffers in stream order
  std::vector<Chunk> spare;            // buffers the consumer gave back
  std::size_t allocated = 0;           // buffers handed to the worker so far
  bool ended = false;                  // the worker has put its last buffer in `ready`
  std::optional<Error> error;          // why it ended, if not at the end of the stream
  bool stop = false;                   // the consumer is gone

  // Read without the lock on the worker's hot path.
  std::atomic<bool> stopping{false};
  std::atomic<bool> consumer_waiting{false};
};

// One call of the upstream Source: exceptions and oversized counts become errors.
Result<std::size_t> pull(Source& upstream, std::span<std::byte> buf) {
  Result<std::size_t> n = std::size_t{0};
  try {
    n = upstream(buf);
  } catch (const std::exception& e) {
    return internal_error(std::string("read-ahead source threw: ") + e.what());
  } catch (...) {
    return internal_error("read-ahead source threw an unknown exception");
  }
  if (n && *n > buf.size())
    return Error(Code::DataLoss, "read-ahead source returned " + std::to_string(*n) +
                                     " bytes for a buffer of " + std::to_string(buf.size()));
  return n;
}

// The worker: fills buffers until the stream ends, fails, or the consumer stops it.
void produce(Channel& ch) {
  const std::size_t buffers = std::max<std::size_t>(ch.options.buffers, 1);
  const std::size_t buffer_size = std::max<std::size_t>(ch.options.buffer_size, 1);
  for (;;) {
    Chunk chunk;
    {
      std::unique_lock lock(ch.m);
      ch.to_worker.wait(lock,
                        [&] { return ch.stop || !ch.spare.empty() || ch.allocated < buffers; });
      if (ch.stop)
        return;
      if (!ch.spare.empty()) {
        chunk = std::move(ch.spare.back());
        ch.spare.pop_back();
      } else {
        ++ch.allocated;
      }
    }
    chunk.data.resize(buffer_size);
    chunk.size = 0;
    std::optional<Error> error;
    bool end = false;
    while (chunk.size < chunk.data.size()) {
      if (ch.stopping.load(std::memory_order_relaxed))
        return;
      auto n = pull(ch.upstream, std::span(chunk.data).subspan(chunk.size));
      if (!n) {
        error = std::move(n).error();
        break;
      }
      if (*n == 0) {
        end = true;
        break;
      }
      chunk.size += *n;
      // A consumer that has nothing to read gets what there is now rather than a full buffer.
      if (ch.consumer_waiting.load(std::memory_order_relaxed))
        break;
    }
    const bool last = error || end;
    {
      std::lock_guard lock(ch.m);
      if (chunk.size > 0)
        ch.ready.push_back(std::move(chunk));
      else
        ch.spare.push_back(std::move(chunk));
      if (last) {
        ch.error = std::move(error);
        ch.ended = true;
      }
    }
    ch.to_consumer.notify_one();
    if (last)
      return;
  }
}

// The thread's body: nothing may escape it (std::terminate), and `upstream` is destroyed here.
void work(Channel& ch) noexcept {
  std::optional<Error> failure;
  try {
    produce(ch);
  } catch (const std::exception& e) {
    failure = internal_error(std::string("read-ahead worker: ") + e.what());
  } catch (...) {
    failure = internal_error("read-ahead worker: unknown exception");
  }
  try {
    ch.upstream = nullptr;
  } catch (...) {
    // A destructor that throws has nowhere to go; the stream's outcome is already decided.
  }
  std::lock_guard lock(ch.m);
  if (!ch.ended) {
    // produce() returned early (stop) or threw: let a consumer that still waits see an end.
    ch.error = failure ? std::move(failure)
                       : std::optional<Error>(Error(Code::Cancelled, "read-ahead stopped"));
    ch.ended = true;
  }
  ch.to_consumer.notify_one();
}

// The consumer's side, shared by every copy of the returned Source; the last one stops and joins
// the worker.
class Reader {
public:
  Reader(Source upstream, ReadAheadOptions options)
      : ch_(std::make_shared<Channel>(std::move(upstream), options)) {}
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  ~Reader() {
    {
      std::lock_guard lock(ch_->m);
      ch_->stop = true;
      ch_->stopping.store(true, std::memory_order_relaxed);
    }
    ch_->to_worker.notify_all();
    if (worker_.joinable())
      worker_.join();
  }

  Result<std::size_t> read(std::span<std::byte> buf) {
    if (failed_)
      return *failed_;
    if (eof_ || buf.empty())
      return std::size_t{0};
    if (!started_)
      start();
    if (inline_)
      return read_inline(buf);
    if (offset_ == current_.size) {
      std::unique_lock lock(ch_->m);
      if (!current_.data.empty()) {
        ch_->spare.push_back(std::move(current_));
        current_ = Chunk{};
        offset_ = 0;
        ch_->to_worker.notify_one();
      }
      if (ch_->ready.empty() && !ch_->ended) {
        ch_->consumer_waiting.store(true, std::memory_order_relaxed);
        ch_->to_consumer.wait(lock, [&] { return !ch_->ready.empty() || ch_->ended; });
        ch_->consumer_waiting.store(false, std::memory_order_relaxed);
      }
      if (ch_->ready.empty()) {
        if (ch_->error) {
          failed_ = ch_->error;
          return *failed_;
        }
        eof_ = true;
        return std::size_t{0};
      }
      current_ = std::move(ch_->ready.front());
      ch_->ready.pop_front();
      offset_ = 0;
    }
    const std::size_t n = std::min(buf.size(), current_.size - offset_);
    std::memcpy(buf.data(), current_.data.data() + offset_, n);
    offset_ += n;
    return n;
  }

private:
  void start() {
    started_ = true;
    try {
      worker_ = std::thread([ch = ch_] { work(*ch); });
    } catch (...) {
      // No thread to be had (EAGAIN): the same bytes, on this thread.
      inline_ = true;
    }
  }

  Result<std::size_t> read_inline(std::span<std::byte> buf) {
    auto n = pull(ch_->upstream, buf);
    if (!n)
      failed_ = n.error();
    else if (*n == 0)
      eof_ = true;
    return n;
  }

  std::shared_ptr<Channel> ch_;
  std::thread worker_;
  bool started_ = false;
  bool inline_ = false;
  Chunk current_;
  std::size_t offset_ = 0;
  std::optional<Error> failed_;
  bool eof_ = false;
};

} // namespace

Source read_ahead(Source upstream, ReadAheadOptions options) {
  auto reader = std::make_shared<Reader>(std::move(upstream), options);
  return [reader](std::span<std::byte> buf) -> Result<std::size_t> {
    try {
      return reader->read(buf);
    } catch (const std::exception& e) {
      return internal_error(std::string("read-ahead: ") + e.what());
    }
  };
}

} // namespace strata::contentio
