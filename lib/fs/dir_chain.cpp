#include "dir_chain.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::fs::detail {

Status DirChain::push(UniqueFd fd, const std::string& shown) {
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return sys_error("cannot stat " + shown, errno);
  levels_.push_back(Level{std::move(fd), st.st_dev, st.st_ino});
  // Keep the window: close the fd of the shallowest open level (never the borrowed base).
  if (++open_ > max_open_) {
    levels_[levels_.size() - 1 - max_open_].fd.reset();
    --open_;
  }
  return {};
}

Status DirChain::pop(const std::string& shown) {
  const std::size_t i = levels_.size() - 1;
  if (i > 0 && !levels_[i - 1].fd) {
    // Re-open the parent through "..", and make sure it is still the directory we came from.
    Level& parent = levels_[i - 1];
    UniqueFd up(::openat(levels_[i].fd.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!up)
      return sys_error("cannot open the parent of " + shown, errno);
    struct stat st {};
    if (::fstat(up.get(), &st) != 0)
      return sys_error("cannot stat the parent of " + shown, errno);
    if (st.st_dev != parent.dev || st.st_ino != parent.ino)
      return invalid_argument(shown + " was moved while it was walked; retry");
    parent.fd = std::move(up);
    ++open_;
  }
  levels_.pop_back();
  --open_;
  return {};
}

} // namespace strata::fs::detail
