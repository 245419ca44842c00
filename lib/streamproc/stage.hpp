#pragma once
// Private to lib/streamproc: one running processor (its child process, pipes and the thread that
// feeds it) and the chain-wide cancellation signal. stage_linux.cpp implements them.

#include <strata/contentio/stream.hpp>
#include <strata/fs/posix.hpp>
#include <strata/plugin/error.hpp>
#include <strata/streamproc/chain.hpp>
#include <strata/streamproc/processor.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>

namespace strata::streamproc::detail {

// Fired once when a chain closes; every blocking wait inside the chain also waits on it, so that
// a thread inside one stage's read (called from the next stage's feeder) returns promptly.
class Cancel {
public:
  static Result<std::shared_ptr<Cancel>> make();
  ~Cancel();
  Cancel(const Cancel&) = delete;
  Cancel& operator=(const Cancel&) = delete;
  void fire() noexcept;
  int fd() const noexcept { return fd_.get(); }

private:
  explicit Cancel(int fd) : fd_(fd) {}
  fs::UniqueFd fd_;
};

class Stage {
public:
  // Spawns spec's binary for `media_type` and starts feeding it `input`.
  static Result<std::shared_ptr<Stage>> start(const ProcessorSpec& spec, std::string media_type,
                                              contentio::Source input, const ChainOptions& options,
                                              std::shared_ptr<Cancel> cancel);
  ~Stage();
  Stage(const Stage&) = delete;
  Stage& operator=(const Stage&) = delete;

  // The Source contract on the processor's stdout; see Chain::source() for the errors.
  Result<std::size_t> read(std::span<std::byte> buf);
  // SIGKILL to the process group unless already reaped.
  void kill() noexcept;
  // kill(), join the feeder, reap, close every descriptor. Idempotent.
  void shutdown() noexcept;

private:
  Stage(const ProcessorSpec& spec, std::string media_type, contentio::Source input,
        const ChainOptions& options, std::shared_ptr<Cancel> cancel);

  void feed() noexcept;
  bool write_all(std::span<const std::byte> data);
  Result<std::size_t> at_end_of_output();
  Error fail(Error e);
  Error timed_out(std::string_view what);
  void drain_stderr() noexcept;
  int reap() noexcept;
  int remaining_ms() const noexcept;
  bool idle_expired() noexcept;
  void touch() noexcept;
  std::string describe() const;
  std::string stderr_text() const;

  std::string id_;
  std::string path_;
  std::string media_type_;
  contentio::Source input_;
  std::shared_ptr<Cancel> cancel_;
  std::chrono::milliseconds idle_;
  std::size_t stderr_limit_;

  // kill() comes from the thread closing the chain while the next stage's feeder may be reaping
  // this process inside read(); the mutex keeps a signal from ever reaching a reaped pid.
  std::mutex process_mutex_;
  int pid_ = -1;
  fs::UniqueFd pidfd_;
  fs::UniqueFd stdin_w_; // owned by the feeder thread once it runs
  fs::UniqueFd stdout_r_;
  fs::UniqueFd stderr_r_;
  bool stderr_open_ = true;
  bool reaped_ = false; // guarded by process_mutex_
  int wait_status_ = 0; // guarded by process_mutex_
  bool shut_ = false;
  std::string stderr_tail_;
  bool stderr_truncated_ = false;

  std::thread feeder_;
  std::atomic<bool> in_input_{false};
  std::atomic<std::int64_t> last_progress_ns_{0};
  // Written by the feeder, read only after joining it.
  std::optional<Error> feed_error_;
  bool unconsumed_ = false;
  std::uint64_t written_ = 0;

  std::optional<Error> outcome_;
  bool ended_ = false;
};

} // namespace strata::streamproc::detail
