// Linux implementation of a running processor: posix_spawn with an absolute path into its own
// process group, a pidfd to wait for its exit with a deadline, non-blocking pipes polled together
// with the chain's cancel eventfd, and a feeder thread pumping the input into its stdin.
#include "stage.hpp"

#include <strata/plugin/try.hpp>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace strata::streamproc::detail {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr const char* kMediaTypeEnv = "STREAM_PROCESSOR_MEDIATYPE";

// Raw syscalls: glibc 2.36's <sys/pidfd.h> lacks extern "C", so its wrappers do not link from C++.
int pidfd_open(pid_t pid) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}
int pidfd_kill(int pidfd) noexcept {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0));
}

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string errno_text(int err) {
  const char* d = strerrordesc_np(err);
  return d != nullptr ? std::string(d) : "error " + std::to_string(err);
}

using fs::UniqueFd;

// Moves `fd` to a number >= 4 so that the child's dup2 onto 0..3 can never clobber another of
// the descriptors it still has to dup (possible when the daemon runs with 0..2 closed).
Status lift(UniqueFd& fd) {
  if (fd.get() >= 4)
    return {};
  int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, 4);
  if (moved < 0)
    return fs::sys_error("stream processor: fcntl(F_DUPFD_CLOEXEC)", errno);
  fd.reset(moved);
  return {};
}

Status make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0)
    return fs::sys_error("stream processor: pipe2", errno);
  read_end.reset(p[0]);
  write_end.reset(p[1]);
  STRATA_TRY(lift(read_end));
  return lift(write_end);
}

Status set_nonblocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0)
    return fs::sys_error("stream processor: fcntl(O_NONBLOCK)", errno);
  return {};
}

// A sealed-size memfd holding the payload, positioned at 0, for the child's fd 3.
Result<UniqueFd> payload_file(const std::string& id, const std::string& payload) {
  UniqueFd fd(::memfd_create(("strata-streamproc-payload-" + id).c_str(), MFD_CLOEXEC));
  if (fd.get() < 0)
    return fs::sys_error("stream processor \"" + id + "\": memfd_create", errno);
  std::size_t off = 0;
  while (off < payload.size()) {
    ssize_t n = ::write(fd.get(), payload.data() + off, payload.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return fs::sys_error("stream processor \"" + id + "\": writing the payload", errno);
    off += static_cast<std::size_t>(n);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) != 0)
    return fs::sys_error("stream processor \"" + id + "\": lseek", errno);
  STRATA_TRY(lift(fd));
  return fd;
}

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  bool have_actions = false;
  bool have_attr = false;
  ~SpawnSetup() {
    if (have_actions)
      posix_spawn_file_actions_destroy(&actions);
    if (have_attr)
      posix_spawnattr_destroy(&attr);
  }
};

// poll(2) retried on EINTR; -1 with errno on failure.
int poll_fds(pollfd* fds, nfds_t n, int timeout_ms) noexcept {
  for (;;) {
    int r = ::poll(fds, n, timeout_ms);
    if (r >= 0 || errno != EINTR)
      return r;
  }
}

} // namespace

// ---- Cancel ----

Result<std::shared_ptr<Cancel>> Cancel::make() {
  int fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0)
    return fs::sys_error("stream processor chain: eventfd", errno);
  return std::shared_ptr<Cancel>(new Cancel(fd));
}

Cancel::~Cancel() = default;

void Cancel::fire() noexcept {
  // Never read back: the eventfd stays readable for every later poll.
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof one);
}

// ---- Stage ----

Stage::Stage(const ProcessorSpec& spec, std::string media_type, contentio::Source input,
             const ChainOptions& options, std::shared_ptr<Cancel> cancel)
    : id_(spec.id), path_(spec.path), media_type_(std::move(media_type)), input_(std::move(input)),
      cancel_(std::move(cancel)), idle_(options.idle_timeout),
      stderr_limit_(std::max<std::size_t>(options.stderr_limit, 1)) {}

Stage::~Stage() {
  shutdown();
}

Result<std::shared_ptr<Stage>> Stage::start(const ProcessorSpec& spec, std::string media_type,
                                            contentio::Source input, const ChainOptions& options,
                                            std::shared_ptr<Cancel> cancel) {
  std::shared_ptr<Stage> st(
      new Stage(spec, std::move(media_type), std::move(input), options, std::move(cancel)));
  const std::string who = st->describe();

  UniqueFd in_r, in_w, out_r, out_w, err_r, err_w, payload;
  const std::pair<UniqueFd*, UniqueFd*> pipes[] = {
      {&in_r, &in_w}, {&out_r, &out_w}, {&err_r, &err_w}};
  for (auto [r, w] : pipes)
    if (auto s = make_pipe(*r, *w); !s)
      return std::move(s).error().wrap(who);
  if (auto it = options.payloads.find(spec.id); it != options.payloads.end()) {
    STRATA_TRY_ASSIGN(auto f, payload_file(spec.id, it->second));
    payload = std::move(f);
  }

  // argv and envp as C strings; the strings live in spec and `env` until posix_spawn returns.
  std::vector<std::string> env = spec.env;
  env.push_back(std::string(kMediaTypeEnv) + "=" + st->media_type_);
  std::vector<char*> argv, envp;
  argv.push_back(const_cast<char*>(spec.path.c_str()));
  for (const auto& a : spec.args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (auto& e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);

  SpawnSetup setup;
  int rc = posix_spawn_file_actions_init(&setup.actions);
  setup.have_actions = rc == 0;
  if (rc == 0) {
    rc = posix_spawnattr_init(&setup.attr);
    setup.have_attr = rc == 0;
  }
  // dup2 clears FD_CLOEXEC on the target; closefrom drops anything a careless caller left open
  // without O_CLOEXEC, so the child gets exactly 0..2 (and 3 with a payload).
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&setup.actions, in_r.get(), 0);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&setup.actions, out_w.get(), 1);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&setup.actions, err_w.get(), 2);
  if (rc == 0 && payload.get() >= 0)
    rc = posix_spawn_file_actions_adddup2(&setup.actions, payload.get(), 3);
  if (rc == 0)
    rc = posix_spawn_file_actions_addclosefrom_np(&setup.actions, payload.get() >= 0 ? 4 : 3);
  // Own process group (killed as a whole), empty signal mask and default dispositions: the
  // daemon may block or ignore signals such as SIGPIPE that a processor relies on.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&setup.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                                   POSIX_SPAWN_SETSIGDEF);
  if (rc == 0)
    rc = posix_spawnattr_setpgroup(&setup.attr, 0);
  if (rc == 0)
    rc = posix_spawnattr_setsigmask(&setup.attr, &none);
  if (rc == 0)
    rc = posix_spawnattr_setsigdefault(&setup.attr, &all);
  if (rc != 0)
    return fs::sys_error(who + ": preparing posix_spawn", rc);

  pid_t pid = -1;
  rc = posix_spawn(&pid, spec.path.c_str(), &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0)
    return unavailable(who + ": cannot start " + spec.path + ": " + errno_text(rc) +
                       "; check that it is an executable for this machine (a script needs a "
                       "#! line naming an absolute interpreter)");
  st->pid_ = pid;
  // The child's ends must be gone from this process, or its exit would never show as EOF.
  in_r.reset();
  out_w.reset();
  err_w.reset();
  payload.reset();
  st->pidfd_.reset(pidfd_open(pid));
  if (!st->pidfd_) {
    int err = errno;
    st->kill();
    st->reap();
    return fs::sys_error(who + ": pidfd_open", err);
  }
  st->stdin_w_ = std::move(in_w);
  st->stdout_r_ = std::move(out_r);
  st->stderr_r_ = std::move(err_r);
  for (int fd : {st->stdin_w_.get(), st->stdout_r_.get(), st->stderr_r_.get()})
    if (auto s = set_nonblocking(fd); !s) {
      st->shutdown();
      return std::move(s).error().wrap(who);
    }

  st->touch();
  try {
    st->feeder_ = std::thread([raw = st.get()] { raw->feed(); });
  } catch (const std::exception& e) {
    st->shutdown();
    return internal_error(who + ": cannot start the thread feeding it: " + e.what());
  }
  return st;
}

std::string Stage::describe() const {
  return "stream processor \"" + id_ + "\" (" + path_ + ") on " + media_type_;
}

void Stage::touch() noexcept {
  last_progress_ns_.store(now_ns());
}

int Stage::remaining_ms() const noexcept {
  if (idle_.count() <= 0)
    return -1;
  std::int64_t deadline = last_progress_ns_.load() +
                          std::chrono::duration_cast<std::chrono::nanoseconds>(idle_).count();
  std::int64_t left = deadline - now_ns();
  if (left <= 0)
    return 0;
  std::int64_t ms = (left + 999'999) / 1'000'000;
  return static_cast<int>(std::min<std::int64_t>(ms, INT_MAX));
}

bool Stage::idle_expired() noexcept {
  if (idle_.count() <= 0)
    return false;
  // Starved by a slow input: not this processor's fault, so its clock restarts.
  if (in_input_.load()) {
    touch();
    return false;
  }
  return remaining_ms() == 0;
}

void Stage::drain_stderr() noexcept {
  if (!stderr_open_ || !stderr_r_)
    return;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(stderr_r_.get(), buf, sizeof buf);
    if (n > 0) {
      stderr_tail_.append(buf, static_cast<std::size_t>(n));
      if (stderr_tail_.size() > 2 * stderr_limit_) {
        stderr_tail_.erase(0, stderr_tail_.size() - stderr_limit_);
        stderr_truncated_ = true;
      }
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
      stderr_open_ = false;
    return;
  }
}

std::string Stage::stderr_text() const {
  std::string_view t = stderr_tail_;
  bool cut = stderr_truncated_;
  if (t.size() > stderr_limit_) {
    t.remove_prefix(t.size() - stderr_limit_);
    cut = true;
  }
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' '))
    t.remove_suffix(1);
  if (t.empty())
    return " (nothing on stderr)";
  return std::string("; stderr: ") + (cut ? "..." : "") + std::string(t);
}

void Stage::kill() noexcept {
  std::lock_guard lock(process_mutex_);
  if (pid_ <= 0 || reaped_)
    return;
  // The group first (shell scripts fork), then the leader in case it left the group. Both are
  // safe while the leader is unreaped: its pid cannot be reused before that.
  ::kill(-pid_, SIGKILL);
  if (pidfd_)
    pidfd_kill(pidfd_.get());
  else
    ::kill(pid_, SIGKILL);
}

int Stage::reap() noexcept {
  // Only called once the process has exited or was sent SIGKILL, so the wait is short.
  std::lock_guard lock(process_mutex_);
  if (pid_ <= 0 || reaped_)
    return wait_status_;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, 0);
    if (r == pid_) {
      wait_status_ = st;
      break;
    }
    if (r < 0 && errno == EINTR)
      continue;
    // ECHILD: someone else reaped it (SIGCHLD ignored by the daemon); the status is lost.
    wait_status_ = -1;
    break;
  }
  reaped_ = true;
  return wait_status_;
}

Error Stage::fail(Error e) {
  outcome_ = e;
  return e;
}

Error Stage::timed_out(std::string_view what) {
  kill();
  reap();
  drain_stderr();
  return fail(Error(Code::DeadlineExceeded,
                    describe() + " " + std::string(what) + " for " + std::to_string(idle_.count()) +
                        " ms and was killed" + stderr_text() +
                        "; fix the processor or raise the stream processor timeout"));
}

Result<std::size_t> Stage::read(std::span<std::byte> buf) {
  if (outcome_)
    return *outcome_;
  if (ended_ || buf.empty())
    return std::size_t{0};
  if (shut_)
    return fail(Error(Code::Cancelled, describe() + ": the chain was closed"));
  for (;;) {
    pollfd fds[3] = {{stdout_r_.get(), POLLIN, 0},
                     {cancel_->fd(), POLLIN, 0},
                     {stderr_open_ ? stderr_r_.get() : -1, POLLIN, 0}};
    int n = poll_fds(fds, 3, remaining_ms());
    if (n < 0)
      return fail(fs::sys_error(describe() + ": poll", errno));
    if (fds[1].revents != 0)
      return fail(Error(Code::Cancelled, describe() + ": the chain was closed"));
    if (fds[2].revents != 0)
      drain_stderr();
    if (fds[0].revents != 0) {
      ssize_t r = ::read(stdout_r_.get(), buf.data(), buf.size());
      if (r > 0) {
        touch();
        return static_cast<std::size_t>(r);
      }
      if (r == 0)
        return at_end_of_output();
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return fail(fs::sys_error(describe() + ": reading its output", errno));
      continue;
    }
    if (idle_expired())
      return timed_out("produced no output and took no input");
  }
}

Result<std::size_t> Stage::at_end_of_output() {
  // Wait for the exit before looking at stderr or the status: containerd once read its error
  // before Wait returned and so lost the reason of a failing processor.
  touch();
  for (;;) {
    pollfd fds[3] = {{pidfd_.get(), POLLIN, 0},
                     {cancel_->fd(), POLLIN, 0},
                     {stderr_open_ ? stderr_r_.get() : -1, POLLIN, 0}};
    int n = poll_fds(fds, 3, remaining_ms());
    if (n < 0)
      return fail(fs::sys_error(describe() + ": poll", errno));
    if (fds[1].revents != 0)
      return fail(Error(Code::Cancelled, describe() + ": the chain was closed"));
    if (fds[2].revents != 0)
      drain_stderr();
    if (fds[0].revents != 0)
      break;
    if (idle_expired())
      return timed_out("closed its output but did not exit");
  }
  // The leader is a zombie now, so its group id is still reserved: clear out stray children.
  kill();
  int status = reap();
  // Everything the processor wrote to stderr is in the pipe once it has exited.
  drain_stderr();
  if (status == -1)
    return fail(internal_error(describe() + ": its exit status was lost (is SIGCHLD ignored in "
                                            "this process?)"));
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* name = sigabbrev_np(sig);
    return fail(internal_error(describe() + " was killed by signal " + std::to_string(sig) +
                               (name != nullptr ? std::string(" (SIG") + name + ")" : "") +
                               stderr_text()));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return fail(invalid_argument(describe() + " exited with status " +
                                 std::to_string(WEXITSTATUS(status)) + stderr_text()));
  // Exit 0: the output is complete only if the input was, too.
  if (feeder_.joinable())
    feeder_.join();
  if (feed_error_)
    return fail(*feed_error_);
  if (unconsumed_)
    return fail(Error(Code::DataLoss, describe() + " exited with status 0 without reading all " +
                                          "of its input (it took " + std::to_string(written_) +
                                          " bytes); a processor must consume its whole input"));
  ended_ = true;
  return std::size_t{0};
}

void Stage::feed() noexcept {
  // Signals go to the daemon's own threads; a SIGPIPE from a processor that stopped reading
  // stays pending here (write reports EPIPE) and is consumed below.
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  try {
    std::vector<std::byte> buf(kChunk);
    for (;;) {
      in_input_.store(true);
      Result<std::size_t> r = input_(buf);
      in_input_.store(false);
      touch();
      if (!r) {
        feed_error_ = std::move(r).error();
        break;
      }
      if (*r == 0)
        break;
      if (*r > buf.size()) {
        feed_error_ =
            Error(Code::DataLoss, "the input of " + describe() + " returned " + std::to_string(*r) +
                                      " bytes for a buffer of " + std::to_string(buf.size()));
        break;
      }
      if (!write_all(std::span<const std::byte>(buf.data(), *r)))
        break;
    }
  } catch (const std::exception& e) {
    in_input_.store(false);
    feed_error_ = internal_error("feeding " + describe() + ": " + e.what());
  } catch (...) {
    in_input_.store(false);
    feed_error_ = internal_error("feeding " + describe() + ": unknown exception");
  }
  stdin_w_.reset(); // end of input for the processor
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  timespec zero{};
  while (sigtimedwait(&pipe_only, nullptr, &zero) > 0) {
  }
}

bool Stage::write_all(std::span<const std::byte> data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(stdin_w_.get(), data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      written_ += static_cast<std::uint64_t>(n);
      touch();
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EPIPE) {
      unconsumed_ = true;
      return false;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd fds[3] = {
          {stdin_w_.get(), POLLOUT, 0}, {cancel_->fd(), POLLIN, 0}, {pidfd_.get(), POLLIN, 0}};
      if (poll_fds(fds, 3, -1) < 0) {
        feed_error_ = fs::sys_error("feeding " + describe() + ": poll", errno);
        return false;
      }
      if (fds[1].revents != 0)
        return false; // closing; read() reports Cancelled
      if (fds[0].revents != 0)
        continue; // writable, or POLLERR which the next write turns into EPIPE
      if (fds[2].revents != 0) {
        // Exited while its stdin is full and still held open by some leftover process.
        unconsumed_ = true;
        return false;
      }
      continue;
    }
    feed_error_ = fs::sys_error("feeding " + describe(), errno);
    return false;
  }
  return true;
}

void Stage::shutdown() noexcept {
  if (shut_)
    return;
  shut_ = true;
  kill();
  if (feeder_.joinable())
    feeder_.join();
  reap();
  stdin_w_.reset();
  stdout_r_.reset();
  stderr_r_.reset();
  pidfd_.reset();
}

} // namespace strata::streamproc::detail
