#include "command.hpp"

#include <cerrno>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace strata::testing {
namespace {

std::string drain(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

} // namespace

int run_command(const std::vector<std::string>& argv, std::string* out, std::string* err) {
  int opipe[2], epipe[2];
  if (::pipe2(opipe, O_CLOEXEC) != 0)
    return -1;
  if (::pipe2(epipe, O_CLOEXEC) != 0) {
    ::close(opipe[0]);
    ::close(opipe[1]);
    return -1;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, opipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, epipe[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(opipe[1]);
  ::close(epipe[1]);
  // Small outputs only (losetup, mkfs): stdout first, then stderr, cannot fill both pipes.
  std::string o = drain(opipe[0]);
  std::string e = drain(epipe[0]);
  ::close(opipe[0]);
  ::close(epipe[0]);
  if (rc != 0)
    return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (out)
    *out = std::move(o);
  if (err)
    *err = std::move(e);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace strata::testing
