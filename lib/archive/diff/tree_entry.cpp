#include "tree_entry.hpp"

#include <strata/plugin/try.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <dirent.h>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>
#include <span>

namespace strata::archive::detail {

namespace {

// Xattrs that describe the host rather than the layer: overlayfs bookkeeping (opaque, redirect,
// origin, metacopy...) of an upperdir, and SELinux labels, which the host's policy assigns (the
// same tree is labelled differently on another host, and the applying side relabels anyway).
// Everything else, security.capability and POSIX ACLs (system.posix_acl_*) included, is content.
bool host_private(std::string_view name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.") ||
         name == "security.selinux";
}

// Reads up to buf.size() bytes, short only at the end of the file.
ssize_t read_full(int fd, std::span<char> buf) {
  std::size_t got = 0;
  while (got < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + got, buf.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

// Xattrs of (dirfd, name) without following it: the parent's fd magic link plus the name.
Status read_xattrs(int dirfd, const std::string& name, const std::string& display, TreeEntry& out) {
  const std::string path = "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len < 0)
    return errno == ENOTSUP ? Status{} : fs::sys_error("cannot list xattrs of " + display, errno);
  std::string names(static_cast<std::size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  if (len < 0)
    return fs::sys_error("cannot list xattrs of " + display, errno);
  names.resize(static_cast<std::size_t>(len));
  for (std::size_t i = 0; i < names.size();) {
    std::string key(names.c_str() + i);
    i += key.size() + 1;
    if (key.empty() || host_private(key))
      continue;
    ssize_t vlen = ::lgetxattr(path.c_str(), key.c_str(), nullptr, 0);
    if (vlen < 0)
      return fs::sys_error("cannot read xattr " + key + " of " + display, errno);
    std::string value(static_cast<std::size_t>(vlen), '\0');
    vlen = ::lgetxattr(path.c_str(), key.c_str(), value.data(), value.size());
    if (vlen < 0)
      return fs::sys_error("cannot read xattr " + key + " of " + display, errno);
    value.resize(static_cast<std::size_t>(vlen));
    out.xattrs.emplace_back(std::move(key), std::move(value));
  }
  std::sort(out.xattrs.begin(), out.xattrs.end());
  return {};
}

} // namespace

Result<TreeEntry> read_entry(int dirfd, const std::string& name, const std::string& display) {
  TreeEntry e;
  if (::fstatat(dirfd, name.c_str(), &e.st, AT_SYMLINK_NOFOLLOW) != 0)
    return fs::sys_error("cannot stat " + display, errno);
  if (S_ISLNK(e.st.st_mode)) {
    std::string buf(static_cast<std::size_t>(e.st.st_size) + 1, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0)
      return fs::sys_error("cannot read symlink " + display, errno);
    buf.resize(static_cast<std::size_t>(n));
    e.link_target = std::move(buf);
  }
  STRATA_TRY(read_xattrs(dirfd, name, display, e));
  return e;
}

Result<std::vector<std::string>> sorted_names(int dirfd, const std::string& display) {
  std::vector<std::string> names;
  if (dirfd < 0)
    return names;
  int dup = ::dup(dirfd);
  DIR* d = dup >= 0 ? ::fdopendir(dup) : nullptr;
  if (!d) {
    if (dup >= 0)
      ::close(dup);
    return fs::sys_error("cannot list " + display, errno);
  }
  ::rewinddir(d);
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..")
      names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<fs::UniqueFd> open_dir(int dirfd, const std::string& name, const std::string& display) {
  fs::UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd)
    return fs::sys_error("cannot open directory " + display, errno);
  return fd;
}

Result<bool> same_content(int dirfd_a, const std::string& a, int dirfd_b, const std::string& b,
                          const std::string& display) {
  fs::UniqueFd fa(::openat(dirfd_a, a.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  fs::UniqueFd fb(::openat(dirfd_b, b.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fa || !fb)
    return fs::sys_error("cannot open " + display + " to compare it", errno);
  std::array<char, 32768> ba{}, bb{};
  for (;;) {
    ssize_t na = read_full(fa.get(), ba);
    ssize_t nb = na < 0 ? 0 : read_full(fb.get(), bb);
    if (na < 0 || nb < 0)
      return fs::sys_error("cannot read " + display + " to compare it", errno);
    if (na != nb || std::memcmp(ba.data(), bb.data(), static_cast<std::size_t>(na)) != 0)
      return false;
    if (na == 0)
      return true;
  }
}

} // namespace strata::archive::detail
