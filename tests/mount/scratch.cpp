#include "scratch.hpp"

#include <strata/fs/root.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/mount.h>
#include <unistd.h>
#include <vector>

namespace strata::mount::testing {
Scratch::Scratch() {
  char tmpl[] = "/tmp/strata-mount-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    std::abort();
  path_ = tmpl;
}

Scratch::~Scratch() {
  unmount_below(path_);
  (void)fs::remove_all_at(AT_FDCWD, path_, path_);
}

std::string Scratch::dir(const std::string& rel, mode_t mode) const {
  std::string p = path_ + "/" + rel;
  std::filesystem::create_directories(p);
  ::chmod(p.c_str(), mode);
  return p;
}

std::string Scratch::file(const std::string& rel, const std::string& content) const {
  std::string p = path_ + "/" + rel;
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

int create_errno(const std::string& path) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return errno;
  ::close(fd);
  ::unlink(path.c_str());
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr)
    return -1;
  while (struct dirent* e = ::readdir(d))
    if (e->d_name[0] != '.')
      ++n;
  ::closedir(d);
  return n - 1; // the DIR's own fd
}

} // namespace strata::mount::testing
