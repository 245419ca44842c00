#include "strata/fs/root.hpp"
#include "strata/fs/walk.hpp"
#include "strata/plugin/try.hpp"

#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

namespace strata::fs {

namespace {

int openat2_in_root(int dirfd, const std::string& rel, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (;;) {
    long fd = ::syscall(SYS_openat2, dirfd, rel.empty() ? "." : rel.c_str(), &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) // EAGAIN: a concurrent rename raced the lookup; retry
      return static_cast<int>(fd);
  }
}

std::string joined(std::string_view a, std::string_view b) {
  if (a.empty())
    return std::string(b);
  return std::string(a) + "/" + std::string(b);
}

} // namespace

Result<std::string> clean_relative(std::string_view name) {
  std::vector<std::string_view> parts;
  std::size_t i = 0;
  while (i <= name.size()) {
    std::size_t j = name.find('/', i);
    if (j == std::string_view::npos)
      j = name.size();
    std::string_view part = name.substr(i, j - i);
    if (part == "..") {
      if (parts.empty())
        return invalid_argument("name \"" + std::string(name) +
                                "\" climbs above the root with \"..\"");
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  std::string out;
  for (auto p : parts) {
    if (!out.empty())
      out += '/';
    out += p;
  }
  return out;
}

std::pair<std::string_view, std::string_view> split_parent(std::string_view rel) noexcept {
  auto slash = rel.rfind('/');
  if (slash == std::string_view::npos)
    return {std::string_view(), rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

Result<Root> Root::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOTDIR)
      return invalid_argument(path + " is not a directory");
    return sys_error("cannot open " + path, errno);
  }
  return Root(std::move(fd), path);
}

Result<UniqueFd> Root::open_at(std::string_view rel, int flags, mode_t mode) const {
  std::string r(rel);
  UniqueFd fd(openat2_in_root(fd_.get(), r, flags, mode));
  if (!fd)
    return sys_error("cannot open \"" + r + "\" in " + path_, errno);
  return fd;
}

Result<UniqueFd> Root::make_dirs(std::string_view rel, mode_t mode, const MadeDir& made) const {
  // Fast path: the directory usually exists already.
  UniqueFd fd(openat2_in_root(fd_.get(), std::string(rel), O_RDONLY | O_DIRECTORY, 0));
  if (fd)
    return fd;
  if (errno != ENOENT) {
    if (errno == ENOTDIR)
      return invalid_argument("cannot create directory \"" + std::string(rel) + "\" in " + path_ +
                              ": a component exists and is not a directory");
    return sys_error("cannot open directory \"" + std::string(rel) + "\" in " + path_, errno);
  }
  // Walk component by component, each lookup still confined, creating what is missing. A
  // component that is a real directory is opened below its (confined) parent with O_NOFOLLOW,
  // which resolves exactly as the prefix from the root would; only a symlink (or anything else
  // the plain open refuses) is resolved again from the root. That keeps a deep path linear:
  // resolving every prefix from the root made 1,900 levels quadratic (issue 16).
  auto open_prefix = [&](int dirfd, const std::string& part, const std::string& prefix) {
    if (part != "." && part != "..") {
      UniqueFd sub(::openat(dirfd, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub || errno == ENOENT)
        return sub;
    }
    return UniqueFd(openat2_in_root(fd_.get(), prefix, O_RDONLY | O_DIRECTORY, 0));
  };
  std::string prefix;
  UniqueFd parent(::dup(fd_.get()));
  if (!parent)
    return sys_error("dup", errno);
  std::size_t i = 0;
  while (i < rel.size()) {
    std::size_t j = rel.find('/', i);
    if (j == std::string_view::npos)
      j = rel.size();
    std::string part(rel.substr(i, j - i));
    prefix = joined(prefix, part);
    UniqueFd next = open_prefix(parent.get(), part, prefix);
    if (!next && errno == ENOENT) {
      // mkdirat relative to the confined parent: `part` is a single component, so it cannot
      // escape; a dangling symlink named `part` makes mkdirat fail with EEXIST.
      bool created = ::mkdirat(parent.get(), part.c_str(), mode) == 0;
      if (!created && errno != EEXIST)
        return sys_error("cannot create directory \"" + prefix + "\" in " + path_, errno);
      next = open_prefix(parent.get(), part, prefix);
      if (next && created && made)
        STRATA_TRY(made(next.get(), prefix));
    }
    if (!next) {
      if (errno == ENOTDIR || errno == ENOENT || errno == EEXIST)
        return invalid_argument("cannot create directory \"" + std::string(rel) + "\" in " + path_ +
                                ": \"" + prefix + "\" exists and is not a directory");
      return sys_error("cannot open directory \"" + prefix + "\" in " + path_, errno);
    }
    parent = std::move(next);
    i = j + 1;
  }
  return parent;
}

Status remove_all_at(int dirfd, const std::string& name, std::string_view display) {
  if (::unlinkat(dirfd, name.c_str(), 0) == 0 || errno == ENOENT)
    return {};
  if (errno != EISDIR && errno != EPERM)
    return sys_error("cannot remove " + std::string(display), errno);
  UniqueFd dir(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir) {
    if (errno == ENOENT)
      return {};
    return sys_error("cannot open " + std::string(display) + " to remove it", errno);
  }
  // Iterative with a bounded number of open fds: a tree of any depth can be removed.
  WalkVisitor v;
  v.enter = [](int fd, const std::string& n, const WalkPath& at) -> Result<bool> {
    if (::unlinkat(fd, n.c_str(), 0) == 0 || errno == ENOENT)
      return false;
    if (errno == EISDIR || errno == EPERM) // EPERM: unlink(2) of a directory on Linux
      return true;
    return sys_error("cannot remove " + at.display(n), errno);
  };
  v.leave = [](int fd, const std::string& n, const WalkPath& at) -> Status {
    if (::unlinkat(fd, n.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      return sys_error("cannot remove directory " + at.display(n), errno);
    return {};
  };
  STRATA_TRY(walk_below(dir.get(), display, v));
  dir.reset();
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return sys_error("cannot remove directory " + std::string(display), errno);
  return {};
}

} // namespace strata::fs
