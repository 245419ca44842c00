#include "fs_image.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <spawn.h>
#include <sstream>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern char** environ;

namespace strata::testing {

std::string find_mkfs(const std::string& type) {
  for (const char* dir : {"/usr/sbin/", "/sbin/"}) {
    std::string p = dir + ("mkfs." + type);
    if (::access(p.c_str(), X_OK) == 0)
      return p;
  }
  return {};
}

Status make_fs_image(const std::string& path, const std::string& type, std::int64_t size) {
  std::string mkfs = find_mkfs(type);
  if (mkfs.empty())
    return not_found("no mkfs." + type + " in /usr/sbin or /sbin (install its package)");
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return internal_error("cannot create " + path + ": " + std::strerror(errno));
  int rc = ::ftruncate(fd, size);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return internal_error("cannot size " + path + ": " + std::strerror(err));

  // mkfs talks on stdout and stderr: keep both for the error message.
  std::string log = path + ".mkfs.log";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::string force = type.starts_with("ext") ? "-F" : "-f";
  std::vector<std::string> args = {mkfs, "-q", force, path};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int spawn = ::posix_spawn(&pid, mkfs.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (spawn != 0)
    return internal_error("cannot run " + mkfs + ": " + std::strerror(spawn));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::ifstream in(log);
  std::ostringstream out;
  out << in.rdbuf();
  ::unlink(log.c_str());
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return internal_error(mkfs + " " + force + " " + path + " failed: " + out.str());
  return {};
}

} // namespace strata::testing
