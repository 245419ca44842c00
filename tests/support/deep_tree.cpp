#include "deep_tree.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::testing {

bool make_deep_tree(const std::string& dir, int depth, const std::string& name,
                    const std::string& leaf, const std::string& data) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return false;
  for (int i = 0; i < depth; ++i) {
    if (::mkdirat(fd, name.c_str(), 0755) != 0 && errno != EEXIST) {
      ::close(fd);
      return false;
    }
    int next = ::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(fd);
    if (next < 0)
      return false;
    fd = next;
  }
  bool ok = true;
  if (!leaf.empty()) {
    int f = ::openat(fd, leaf.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ok = f >= 0 && ::write(f, data.data(), data.size()) == static_cast<ssize_t>(data.size());
    if (f >= 0)
      ::close(f);
  }
  ::close(fd);
  return ok;
}

FdLimit::FdLimit(rlim_t soft) {
  if (::getrlimit(RLIMIT_NOFILE, &saved_) != 0)
    return;
  rlimit lowered = saved_;
  lowered.rlim_cur = soft;
  ok_ = ::setrlimit(RLIMIT_NOFILE, &lowered) == 0;
}

FdLimit::~FdLimit() {
  if (ok_)
    ::setrlimit(RLIMIT_NOFILE, &saved_);
}

int open_fd_count() {
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr)
    return -1;
  int n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.')
      ++n;
  ::closedir(d);
  return n - 1; // the listing's own fd
}

} // namespace strata::testing
