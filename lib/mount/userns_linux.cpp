// A user namespace with given maps, obtained without PID-reuse races: the helper process is
// created with CLONE_PIDFD, everything opened by PID is confirmed through the pidfd before use,
// and the helper is killed and reaped through the pidfd too (never by PID).
#include "strata/mount/idmap.hpp"
#include "strata/plugin/try.hpp"

#include "sys_linux.hpp"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>

namespace strata::mount {
namespace {

// The first version of clone3's argument block (CLONE_ARGS_SIZE_VER0); declared here so that
// <linux/sched.h> does not have to meet glibc's <sched.h>.
struct CloneArgs {
  std::uint64_t flags;
  std::uint64_t pidfd;
  std::uint64_t child_tid;
  std::uint64_t parent_tid;
  std::uint64_t exit_signal;
  std::uint64_t stack;
  std::uint64_t stack_size;
  std::uint64_t tls;
};
static_assert(sizeof(CloneArgs) == 64);

// P_PIDFD of <linux/wait.h>; glibc 2.36 does not define it.
constexpr int kPidfdIdType = 3;

// The helper's whole life: die with the thread that made it, otherwise wait to be killed.
// Only raw system calls: it is a copy of a possibly multi-threaded process.
[[noreturn]] void helper_main() {
  ::syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  for (;;)
    ::syscall(SYS_ppoll, nullptr, 0, nullptr, nullptr, 0);
}

Status pidfd_support() {
  static std::once_flag once;
  static int missing = 0; // errno of the failing check, 0 when pidfds work
  std::call_once(once, [] {
    int fd = static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0));
    if (fd < 0) {
      missing = errno;
      return;
    }
    if (::syscall(SYS_pidfd_send_signal, fd, 0, nullptr, 0) != 0)
      missing = errno;
    // waitid(P_PIDFD) on ourselves must say "not a child" (ECHILD), not "unknown id type".
    siginfo_t info{};
    if (missing == 0 &&
        ::waitid(static_cast<idtype_t>(kPidfdIdType), static_cast<id_t>(fd), &info,
                 WEXITED | WNOHANG) != 0 &&
        errno != ECHILD)
      missing = errno;
    ::close(fd);
  });
  if (missing != 0)
    return not_implemented("the kernel lacks pidfd support (pidfd_open, pidfd_send_signal, "
                           "waitid P_PIDFD; Linux 5.4+): " +
                           detail::errno_name(missing));
  return {};
}

// Owns the helper: SIGKILL and reap through the pidfd, whatever happens.
class Helper {
public:
  Helper(pid_t pid, int pidfd) : pid_(pid), pidfd_(pidfd) {}
  Helper(const Helper&) = delete;
  Helper& operator=(const Helper&) = delete;
  ~Helper() {
    ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    siginfo_t info{};
    // __WALL: the helper sends no SIGCHLD (exit_signal 0), so it counts as a "clone" child.
    while (::waitid(static_cast<idtype_t>(kPidfdIdType), static_cast<id_t>(pidfd_.get()), &info,
                    WEXITED | __WALL) != 0 &&
           errno == EINTR) {
    }
  }
  pid_t pid() const noexcept { return pid_; }
  int pidfd() const noexcept { return pidfd_.get(); }

private:
  pid_t pid_;
  fs::UniqueFd pidfd_;
};

Status write_map(int fd, const std::string& map, std::string_view which, pid_t pid) {
  // The kernel takes a map in a single write only.
  ssize_t n = ::write(fd, map.data(), map.size());
  if (n == static_cast<ssize_t>(map.size()))
    return {};
  int err = n < 0 ? errno : EIO;
  return detail::mount_error("cannot write the " + std::string(which) + " of user namespace " +
                                 "helper " + std::to_string(pid) + " (\"" +
                                 detail::shorten(map, 120) + "\")",
                             err,
                             err == EPERM ? "writing maps needs CAP_SETUID/CAP_SETGID over the "
                                            "host ids being mapped"
                                          : "");
}

} // namespace

Result<fs::UniqueFd> user_namespace_fd(std::string_view uid_map, std::string_view gid_map) {
  auto uids = parse_id_mappings(uid_map);
  if (!uids)
    return uids.error().wrap("uid map");
  auto gids = parse_id_mappings(gid_map);
  if (!gids)
    return gids.error().wrap("gid map");
  STRATA_TRY(pidfd_support());

  int pidfd = -1;
  CloneArgs args{};
  args.flags = CLONE_NEWUSER | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<std::uintptr_t>(&pidfd);
  // No exit signal: a SIGCHLD handler or a reaper calling waitpid(-1) elsewhere in the process
  // will not collect the helper behind our back.
  args.exit_signal = 0;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0)
    helper_main();
  if (pid < 0) {
    int err = errno;
    if (err == ENOSYS)
      return not_implemented("cannot create a user namespace: the kernel lacks clone3 "
                             "(Linux 5.3+)");
    return detail::mount_error("cannot create a user namespace helper process", err,
                               err == EPERM || err == ENOSPC
                                   ? "user namespaces may be disabled or exhausted "
                                     "(user.max_user_namespaces)"
                                   : "");
  }
  Helper helper(static_cast<pid_t>(pid), pidfd);

  // Open everything by PID first, then prove the PID still is our helper: once
  // pidfd_send_signal(0) succeeds, these files are the helper's even if the PID is reused later.
  std::string proc = "/proc/" + std::to_string(helper.pid());
  fs::UniqueFd ns(::open((proc + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  int err = errno;
  fs::UniqueFd uid_fd(::open((proc + "/uid_map").c_str(), O_WRONLY | O_CLOEXEC));
  if (!uid_fd && ns)
    err = errno;
  fs::UniqueFd gid_fd(::open((proc + "/gid_map").c_str(), O_WRONLY | O_CLOEXEC));
  if (!gid_fd && ns && uid_fd)
    err = errno;
  if (::syscall(SYS_pidfd_send_signal, helper.pidfd(), 0, nullptr, 0) != 0) {
    if (errno == ESRCH)
      return unavailable("user namespace helper " + std::to_string(helper.pid()) +
                         " exited before it could be confirmed; retry");
    return detail::mount_error(
        "cannot signal user namespace helper " + std::to_string(helper.pid()), errno);
  }
  if (!ns || !uid_fd || !gid_fd)
    return detail::mount_error("cannot open the namespace files of user namespace helper " +
                                   std::to_string(helper.pid()),
                               err);
  STRATA_TRY(write_map(uid_fd.get(), format_proc_id_map(*uids), "uid_map", helper.pid()));
  STRATA_TRY(write_map(gid_fd.get(), format_proc_id_map(*gids), "gid_map", helper.pid()));
  return ns;
}

} // namespace strata::mount
