// run_mkfs: posix_spawn with the output of the child collected through a pipe.
#include "mkfs.hpp"

#include <strata/fs/posix.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

namespace strata::blockfile {
namespace {

// posix_spawn's attribute and file-action objects, destroyed on every path.
struct Spawn {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  bool have_actions = false, have_attr = false;
  ~Spawn() {
    if (have_actions)
      posix_spawn_file_actions_destroy(&actions);
    if (have_attr)
      posix_spawnattr_destroy(&attr);
  }
};

// The last bytes of what mkfs said are enough to see why it failed.
constexpr std::size_t kOutputLimit = 4096;

} // namespace

std::vector<std::string> default_mkfs_dirs() {
  return {"/usr/sbin", "/sbin"};
}

std::string find_mkfs(FsType type, const std::vector<std::string>& dirs) {
  for (const std::string& dir : dirs) {
    std::string p = dir + "/mkfs." + std::string(to_string(type));
    if (!dir.empty() && dir.front() == '/' && ::access(p.c_str(), X_OK) == 0)
      return p;
  }
  return {};
}

Status run_mkfs(const std::string& mkfs, FsType type, const std::string& image) {
  std::vector<std::string> args{mkfs, "-q"};
  if (type == FsType::Ext4)
    args.insert(args.end(), {"-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"});
  else
    args.push_back("-f");
  args.push_back(image);
  std::string shown;
  for (const std::string& a : args)
    shown += (shown.empty() ? "" : " ") + a;

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0)
    return fs::sys_error("cannot run " + shown + ": pipe", errno);
  fs::UniqueFd out_r(p[0]), out_w(p[1]);

  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string lc = "LC_ALL=C"; // messages in the error stay readable
  char* envp[] = {lc.data(), nullptr};

  Spawn s;
  int rc = posix_spawn_file_actions_init(&s.actions);
  s.have_actions = rc == 0;
  if (rc == 0) {
    rc = posix_spawnattr_init(&s.attr);
    s.have_attr = rc == 0;
  }
  if (rc == 0)
    rc = posix_spawn_file_actions_addopen(&s.actions, 0, "/dev/null", O_RDONLY, 0);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&s.actions, out_w.get(), 1);
  if (rc == 0)
    rc = posix_spawn_file_actions_adddup2(&s.actions, out_w.get(), 2);
  if (rc == 0)
    rc = posix_spawn_file_actions_addclosefrom_np(&s.actions, 3);
  // Default signal handling: the daemon may ignore or block signals mkfs relies on.
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  if (rc == 0)
    rc = posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  if (rc == 0)
    rc = posix_spawnattr_setsigmask(&s.attr, &none);
  if (rc == 0)
    rc = posix_spawnattr_setsigdefault(&s.attr, &all);
  if (rc != 0)
    return fs::sys_error("cannot run " + shown + ": preparing posix_spawn", rc);
  pid_t pid = -1;
  rc = ::posix_spawn(&pid, mkfs.c_str(), &s.actions, &s.attr, argv.data(), envp);
  if (rc != 0)
    return unavailable("cannot start " + mkfs + ": " + std::strerror(rc));
  out_w.reset(); // our copy of the write end, or the read below never sees EOF

  std::string output;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    output.append(buf, static_cast<std::size_t>(n));
    if (output.size() > 2 * kOutputLimit)
      output.erase(0, output.size() - kOutputLimit);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      return fs::sys_error("cannot wait for " + shown, errno);
  if (output.size() > kOutputLimit)
    output.erase(0, output.size() - kOutputLimit);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return {};
  std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                      : "was killed by signal " + std::to_string(WTERMSIG(status));
  return internal_error(shown + " " + how + (output.empty() ? "" : ": " + output));
}

} // namespace strata::blockfile
