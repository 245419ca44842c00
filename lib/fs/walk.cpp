#include "strata/fs/walk.hpp"
#include "strata/plugin/try.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::fs {

Result<std::vector<std::string>> list_dir(int fd, std::string_view display) {
  // A new open file description, checked: a dup would share (and move) the caller's offset,
  // and an unchecked fdopendir(dup(fd)) turns a dup EMFILE into EBADF.
  int own = ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0)
    return sys_error("cannot list " + std::string(display), errno);
  DIR* d = ::fdopendir(own);
  if (d == nullptr) {
    int err = errno;
    ::close(own);
    return sys_error("cannot list " + std::string(display), err);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
    errno = 0;
  }
  int err = errno;
  ::closedir(d);
  if (err != 0)
    return sys_error("cannot list " + std::string(display), err);
  return names;
}

namespace {

struct Frame {
  std::string name; // in the parent frame; empty for the walked directory
  UniqueFd fd;      // closed for ancestors beyond the open window
  dev_t dev = 0;
  ino_t ino = 0;
  std::vector<std::string> names;
  std::size_t next = 0;
};

class Walk final : public WalkPath {
public:
  Walk(int dirfd, std::string_view display, std::size_t max_open)
      : root_(dirfd), display_(display), max_open_(max_open < 2 ? 2 : max_open) {}

  std::string display(std::string_view name) const override {
    std::string out = display_;
    for (std::size_t i = 1; i < stack_.size(); ++i)
      out += "/" + stack_[i].name;
    if (!name.empty())
      out += "/" + std::string(name);
    return out;
  }

  Status run(const WalkVisitor& visit) {
    Frame top;
    struct stat st {};
    if (::fstat(root_, &st) != 0)
      return sys_error("cannot stat " + display_, errno);
    top.dev = st.st_dev;
    top.ino = st.st_ino;
    auto names = list_dir(root_, display_);
    if (!names)
      return std::move(names).error();
    top.names = std::move(*names);
    stack_.push_back(std::move(top));
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.next == f.names.size()) {
        STRATA_TRY(pop(visit));
        continue;
      }
      const std::string name = f.names[f.next++];
      int dirfd = fd_of(stack_.size() - 1);
      STRATA_TRY_ASSIGN(auto descend, visit.enter(dirfd, name, *this));
      if (descend)
        STRATA_TRY(push(dirfd, name));
    }
    return {};
  }

private:
  int fd_of(std::size_t i) const { return i == 0 ? root_ : stack_[i].fd.get(); }

  Status push(int dirfd, const std::string& name) {
    UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) {
      if (errno == ENOENT)
        return {};
      return sys_error("cannot open " + display(name), errno);
    }
    Frame f;
    f.name = name;
    struct stat st {};
    if (::fstat(sub.get(), &st) != 0)
      return sys_error("cannot stat " + display(name), errno);
    f.dev = st.st_dev;
    f.ino = st.st_ino;
    auto names = list_dir(sub.get(), display(name));
    if (!names)
      return std::move(names).error();
    f.names = std::move(*names);
    f.fd = std::move(sub);
    stack_.push_back(std::move(f));
    // Keep the window: close the fd of the shallowest open frame (never the borrowed root's).
    if (++open_ > max_open_) {
      stack_[stack_.size() - 1 - max_open_].fd.reset();
      --open_;
    }
    return {};
  }

  Status pop(const WalkVisitor& visit) {
    if (stack_.size() == 1) {
      stack_.pop_back();
      return {};
    }
    const std::size_t i = stack_.size() - 1;
    Frame& parent = stack_[i - 1];
    if (i - 1 > 0 && !parent.fd) {
      // Re-open the parent through "..", and make sure it is still the directory we came from.
      UniqueFd up(::openat(stack_[i].fd.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!up)
        return sys_error("cannot open the parent of " + display(""), errno);
      struct stat st {};
      if (::fstat(up.get(), &st) != 0)
        return sys_error("cannot stat the parent of " + display(""), errno);
      if (st.st_dev != parent.dev || st.st_ino != parent.ino)
        return invalid_argument(display("") + " was moved while it was walked; retry");
      parent.fd = std::move(up);
      ++open_;
    }
    std::string name = std::move(stack_[i].name);
    stack_.pop_back();
    --open_;
    if (visit.leave) {
      STRATA_TRY(visit.leave(fd_of(i - 1), name, *this));
    }
    return {};
  }

  int root_;
  std::string display_;
  std::size_t max_open_;
  std::size_t open_ = 0; // open fds among stack_[1..]
  std::vector<Frame> stack_;
};

} // namespace

Status walk_below(int dirfd, std::string_view display, const WalkVisitor& visit,
                  std::size_t max_open) {
  Walk w(dirfd, display, max_open);
  return w.run(visit);
}

} // namespace strata::fs
