#include "strata/fs/copy.hpp"

#include "strata/fs/posix.hpp"
#include "strata/plugin/try.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace strata::fs {
namespace {

// Symlinks and special files are reached through their directory's magic link, as the *xattr(2)
// calls take no (dirfd, name) form; the l* variants never follow the last component.
std::string proc_path(const Node& n) {
  return "/proc/self/fd/" + std::to_string(n.dir) + "/" + n.name;
}

ssize_t list_xattrs(const Node& n, char* buf, std::size_t size) {
  return n.fd >= 0 ? ::flistxattr(n.fd, buf, size) : ::llistxattr(proc_path(n).c_str(), buf, size);
}

ssize_t get_xattr(const Node& n, const char* key, void* buf, std::size_t size) {
  return n.fd >= 0 ? ::fgetxattr(n.fd, key, buf, size)
                   : ::lgetxattr(proc_path(n).c_str(), key, buf, size);
}

int set_xattr(const Node& n, const char* key, const void* value, std::size_t size) {
  return n.fd >= 0 ? ::fsetxattr(n.fd, key, value, size, 0)
                   : ::lsetxattr(proc_path(n).c_str(), key, value, size, 0);
}

bool skipped(std::string_view key, const XattrCopy& how) {
  for (const auto& p : how.skip_prefixes)
    if (key.substr(0, p.size()) == p)
      return true;
  return false;
}

} // namespace

bool xattr_refused(int err) noexcept {
  return err == ENOTSUP || err == EPERM || err == EACCES || err == E2BIG || err == ERANGE;
}

Status copy_xattrs(const Node& from, const Node& to, std::string_view shown, const XattrCopy& how) {
  std::string names;
  for (;;) {
    ssize_t n = list_xattrs(from, nullptr, 0);
    if (n < 0 && (errno == ENOTSUP || errno == EPERM))
      return {}; // the source's filesystem keeps no xattrs (or none we may list)
    if (n < 0)
      return sys_error("cannot list the xattrs of " + std::string(shown), errno);
    if (n == 0)
      return {};
    names.resize(static_cast<std::size_t>(n));
    n = list_xattrs(from, names.data(), names.size());
    if (n >= 0) {
      names.resize(static_cast<std::size_t>(n));
      break;
    }
    if (errno != ERANGE) // ERANGE: one was added meanwhile, ask again
      return sys_error("cannot list the xattrs of " + std::string(shown), errno);
  }
  std::string value;
  for (std::size_t i = 0; i < names.size(); i += std::strlen(names.c_str() + i) + 1) {
    const char* key = names.c_str() + i;
    const std::string_view k = key;
    if (k.empty() || skipped(k, how))
      continue;
    ssize_t n = -1;
    for (;;) {
      n = get_xattr(from, key, nullptr, 0);
      if (n < 0)
        break;
      value.resize(static_cast<std::size_t>(n));
      n = get_xattr(from, key, value.data(), value.size());
      if (n >= 0 || errno != ERANGE) // ERANGE: it grew meanwhile, ask again
        break;
    }
    if (n < 0) {
      if (errno == ENODATA)
        continue; // removed meanwhile
      return sys_error("cannot read xattr " + std::string(k) + " of " + std::string(shown), errno);
    }
    value.resize(static_cast<std::size_t>(n));
    if (set_xattr(to, key, value.data(), value.size()) == 0)
      continue;
    const int err = errno;
    const bool refused = xattr_refused(err);
    if (refused && how.skip_refused) {
      if (how.warn)
        how.warn("skipped xattr " + std::string(k) + " copying " + std::string(shown) + ": " +
                 std::strerror(err));
      continue;
    }
    return sys_error(
        "cannot set xattr " + std::string(k) + " copying " + std::string(shown) +
            (refused && !how.refused_hint.empty() ? " (" + how.refused_hint + ")" : std::string()),
        err);
  }
  return {};
}

Status copy_attrs(const Node& from, const Node& to, const struct stat& st, std::string_view shown,
                  const AttrCopy& what) {
  if (what.owner) {
    const auto [uid, gid] = *what.owner;
    int rc = to.fd >= 0 ? ::fchown(to.fd, uid, gid)
                        : ::fchownat(to.dir, to.name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc != 0)
      return sys_error("cannot chown the copy of " + std::string(shown) + " to " +
                           std::to_string(uid) + ":" + std::to_string(gid),
                       errno);
  }
  if (what.xattrs)
    STRATA_TRY(copy_xattrs(from, to, shown, *what.xattrs));
  if (what.mode && !S_ISLNK(st.st_mode)) {
    const mode_t m = st.st_mode & 07777;
    int rc = to.fd >= 0 ? ::fchmod(to.fd, m)
                        : ::fchmodat(to.dir, to.name.c_str(), m, AT_SYMLINK_NOFOLLOW);
    if (rc != 0)
      return sys_error("cannot chmod the copy of " + std::string(shown), errno);
  }
  if (what.times) {
    const struct timespec t[2] = {st.st_atim, st.st_mtim};
    int rc = to.fd >= 0 ? ::futimens(to.fd, t)
                        : ::utimensat(to.dir, to.name.c_str(), t, AT_SYMLINK_NOFOLLOW);
    if (rc != 0)
      return sys_error("cannot set the times of the copy of " + std::string(shown), errno);
  }
  return {};
}

} // namespace strata::fs
