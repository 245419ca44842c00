#include "loop_fs.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <spawn.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace strata::testing {
namespace {

const char* const kLosetup = "/usr/sbin/losetup";

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

std::vector<std::string> loops_backed_below(const std::string& dir) {
  std::string out;
  run_command({kLosetup, "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"}, &out);
  std::vector<std::string> found;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto space = line.find(' ');
    if (space == std::string::npos)
      continue;
    const std::string back = line.substr(space + 1);
    if (back == dir || back.rfind(dir + "/", 0) == 0)
      found.push_back(line.substr(0, space));
  }
  return found;
}

LoopFs::LoopFs(const std::string& dir, const std::string& name, const std::string& type,
               std::uint64_t size, const std::vector<std::string>& mkfs_args)
    : image_(dir + "/" + name + ".img"), mount_point_(dir + "/" + name) {
  const std::string mkfs = "/usr/sbin/mkfs." + type;
  if (::access(mkfs.c_str(), X_OK) != 0) {
    error_ = mkfs + " is missing (scripts/setup.sh installs it)";
    return;
  }
  int fd = ::open(image_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    error_ = "cannot make the image " + image_ + ": " + std::strerror(errno);
    if (fd >= 0)
      ::close(fd);
    return;
  }
  ::close(fd);
  std::vector<std::string> argv{mkfs};
  argv.insert(argv.end(), mkfs_args.begin(), mkfs_args.end());
  argv.push_back(image_);
  std::string out, err;
  if (run_command(argv, &out, &err) != 0) {
    error_ = mkfs + " " + image_ + " failed: " + err;
    return;
  }
  if (run_command({kLosetup, "--find", "--show", image_}, &out, &err) != 0) {
    error_ = "losetup --find --show " + image_ + " failed: " + err;
    return;
  }
  device_ = out.substr(0, out.find('\n'));
  if (::mkdir(mount_point_.c_str(), 0755) != 0 && errno != EEXIST) {
    error_ = "cannot create " + mount_point_ + ": " + std::strerror(errno);
    return;
  }
  if (::mount(device_.c_str(), mount_point_.c_str(), type.c_str(), 0, nullptr) != 0) {
    error_ = "cannot mount " + device_ + " (" + type + ") at " + mount_point_ + ": " +
             std::strerror(errno);
    return;
  }
  mounted_ = true;
}

LoopFs::~LoopFs() {
  if (mounted_ && ::umount2(mount_point_.c_str(), 0) != 0)
    ::umount2(mount_point_.c_str(), MNT_DETACH);
  if (!device_.empty())
    run_command({kLosetup, "--detach", device_});
}

} // namespace strata::testing
