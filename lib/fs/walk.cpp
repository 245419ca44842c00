#include "strata/fs/walk.hpp"

#include "dir_chain.hpp"
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

// One directory being listed: its name in its parent (empty for the walked directory) and what is
// left of its listing. Its fd is the DirChain level of the same depth.
struct Frame {
  std::string name;
  std::vector<std::string> names;
  std::size_t next = 0;
};

class Walk final : public WalkPath {
public:
  Walk(int dirfd, std::string_view display, std::size_t max_open)
      : display_(display), chain_(dirfd, max_open) {}

  std::string display(std::string_view name) const override {
    std::string out = display_;
    for (std::size_t i = 1; i < stack_.size(); ++i)
      out += "/" + stack_[i].name;
    if (!name.empty())
      out += "/" + std::string(name);
    return out;
  }

  Status run(const WalkVisitor& visit) {
    STRATA_TRY_ASSIGN(auto names, list_dir(chain_.top(), display_));
    stack_.push_back(Frame{{}, std::move(names), 0});
    while (!stack_.empty()) {
      Frame& f = stack_.back();
      if (f.next == f.names.size()) {
        STRATA_TRY(pop(visit));
        continue;
      }
      const std::string name = f.names[f.next++];
      const int dirfd = chain_.top();
      STRATA_TRY_ASSIGN(auto descend, visit.enter(dirfd, name, *this));
      if (descend)
        STRATA_TRY(push(dirfd, name, visit));
    }
    return {};
  }

private:
  Status push(int dirfd, const std::string& name, const WalkVisitor& visit) {
    UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) {
      if (errno == ENOENT)
        return {};
      return sys_error("cannot open " + display(name), errno);
    }
    STRATA_TRY_ASSIGN(auto names, list_dir(sub.get(), display(name)));
    const int fd = sub.get();
    STRATA_TRY(chain_.push(std::move(sub), display(name)));
    stack_.push_back(Frame{name, std::move(names), 0});
    if (visit.opened)
      STRATA_TRY(visit.opened(fd, name, *this));
    return {};
  }

  Status pop(const WalkVisitor& visit) {
    if (stack_.size() == 1) {
      stack_.pop_back();
      return {};
    }
    STRATA_TRY(chain_.pop(display("")));
    std::string name = std::move(stack_.back().name);
    stack_.pop_back();
    if (visit.leave)
      STRATA_TRY(visit.leave(chain_.top(), name, *this));
    return {};
  }

  std::string display_;
  detail::DirChain chain_;
  std::vector<Frame> stack_;
};

} // namespace

Status walk_below(int dirfd, std::string_view display, const WalkVisitor& visit,
                  std::size_t max_open) {
  Walk w(dirfd, display, max_open);
  return w.run(visit);
}

} // namespace strata::fs
