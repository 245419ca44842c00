#include "tree_digest.hpp"

#include <strata/digest/sha256.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace strata::testing {

namespace {

Error io_error(const std::string& what, int err) {
  return internal_error(what + ": " + std::strerror(err));
}

// Owns a descriptor for the duration of one directory's walk.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0)
      ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

struct Item {
  std::string rel;
  struct stat st {};
  std::string content;     // regular files: "sha256:..."
  std::string link_target; // symlinks
  std::string xattrs;      // " xattr:k=v..." in name order
};

// openat with O_NOATIME, so that reading does not move the atimes a listing shows; without it
// when the caller may not (EPERM: neither owner nor CAP_FOWNER).
int open_noatime(int dirfd, const char* name, int flags) {
  int fd = ::openat(dirfd, name, flags | O_NOATIME);
  if (fd < 0 && errno == EPERM)
    fd = ::openat(dirfd, name, flags);
  return fd;
}

// The magic-link path of (dirfd, name): l*xattr on it never follows `name`.
std::string at_path(int dirfd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dirfd) + "/" + name;
}

Result<std::string> xattrs_of(int dirfd, const std::string& name, const std::string& rel,
                              const TreeDigestOptions& opts) {
  const std::string p = at_path(dirfd, name);
  ssize_t n = ::llistxattr(p.c_str(), nullptr, 0);
  if (n < 0)
    return errno == ENOTSUP ? std::string()
                            : Result<std::string>(io_error("llistxattr " + rel, errno));
  std::string names(static_cast<std::size_t>(n), '\0');
  n = ::llistxattr(p.c_str(), names.data(), names.size());
  if (n < 0)
    return io_error("llistxattr " + rel, errno);
  names.resize(static_cast<std::size_t>(n));
  std::map<std::string, std::string> kv;
  for (std::size_t i = 0; i < names.size();) {
    std::string key(names.c_str() + i);
    i += key.size() + 1;
    bool excluded = key.empty();
    for (const auto& prefix : opts.exclude_xattrs)
      excluded = excluded || key.starts_with(prefix);
    if (excluded)
      continue;
    ssize_t vn = ::lgetxattr(p.c_str(), key.c_str(), nullptr, 0);
    std::string value(vn > 0 ? static_cast<std::size_t>(vn) : 0, '\0');
    if (vn > 0)
      vn = ::lgetxattr(p.c_str(), key.c_str(), value.data(), value.size());
    if (vn < 0)
      return io_error("lgetxattr " + key + " of " + rel, errno);
    value.resize(static_cast<std::size_t>(vn));
    kv[key] = std::move(value);
  }
  std::string out;
  for (const auto& [k, v] : kv)
    out += " xattr:" + k + "=" + digest::sha256_of(v).substr(7, 16);
  return out;
}

Result<std::string> content_of(int dirfd, const std::string& name, const std::string& rel) {
  Fd f(open_noatime(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (f.fd < 0)
    return io_error("open " + rel, errno);
  digest::Sha256 h;
  std::vector<std::byte> buf(1 << 16);
  for (;;) {
    ssize_t n = ::read(f.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_error("read " + rel, errno);
    if (n == 0)
      break;
    h.update(std::span(buf).first(static_cast<std::size_t>(n)));
  }
  return h.finish();
}

// Everything below directory `dirfd` (whose relative path is `rel`), fd-relative and never
// following a symlink.
Status collect(int dirfd, const std::string& rel, const TreeDigestOptions& opts,
               std::vector<Item>& out) {
  int dup = open_noatime(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = dup >= 0 ? ::fdopendir(dup) : nullptr;
  if (!d) {
    int err = errno;
    if (dup >= 0)
      ::close(dup);
    return io_error("opendir " + (rel.empty() ? "." : rel), err);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..")
      names.emplace_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    Item it;
    it.rel = rel.empty() ? name : rel + "/" + name;
    if (::fstatat(dirfd, name.c_str(), &it.st, AT_SYMLINK_NOFOLLOW) != 0)
      return io_error("stat " + it.rel, errno);
    if (S_ISREG(it.st.st_mode)) {
      auto c = content_of(dirfd, name, it.rel);
      if (!c)
        return c.error();
      it.content = std::move(*c);
    } else if (S_ISLNK(it.st.st_mode)) {
      std::string buf(static_cast<std::size_t>(it.st.st_size) + 1, '\0');
      ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
      if (n < 0)
        return io_error("readlink " + it.rel, errno);
      buf.resize(static_cast<std::size_t>(n));
      it.link_target = std::move(buf);
      // readlink moves the atime and has no O_NOATIME: put it back (where the caller may).
      if (opts.exact_times) {
        const struct timespec t[2] = {it.st.st_atim, {0, UTIME_OMIT}};
        (void)::utimensat(dirfd, name.c_str(), t, AT_SYMLINK_NOFOLLOW);
      }
    }
    auto x = xattrs_of(dirfd, name, it.rel, opts);
    if (!x)
      return x.error();
    it.xattrs = std::move(*x);
    const bool is_dir = S_ISDIR(it.st.st_mode);
    const std::string child_rel = it.rel;
    out.push_back(std::move(it));
    if (is_dir) {
      Fd child(open_noatime(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (child.fd < 0)
        return io_error("open directory " + child_rel, errno);
      if (auto st = collect(child.fd, child_rel, opts, out); !st)
        return st;
    }
  }
  return {};
}

} // namespace

Result<std::string> tree_listing(const std::string& root, const TreeDigestOptions& opts) {
  Fd top(open_noatime(AT_FDCWD, root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (top.fd < 0)
    return not_found("tree listing: " + root + " is not a directory: " + std::strerror(errno));
  std::vector<Item> items;
  if (opts.include_root) {
    Item it;
    it.rel = ".";
    if (::fstat(top.fd, &it.st) != 0)
      return io_error("stat " + root, errno);
    auto x = xattrs_of(top.fd, ".", root, opts);
    if (!x)
      return x.error();
    it.xattrs = std::move(*x);
    items.push_back(std::move(it));
  }
  if (auto st = collect(top.fd, "", opts, items); !st)
    return st.error().wrap("tree listing of " + root);
  // Byte order of whole paths, so the listing does not depend on the walk.
  std::sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.rel < b.rel; });
  std::map<std::pair<dev_t, ino_t>, std::string> first_path;
  std::string out;
  for (const auto& it : items) {
    const auto& st = it.st;
    if (opts.skip_whiteout_devices && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
      continue;
    std::ostringstream l;
    l << it.rel << " mode=" << std::oct << st.st_mode << std::dec << " owner=" << st.st_uid << ":"
      << st.st_gid;
    if (S_ISREG(st.st_mode))
      l << " size=" << st.st_size << " " << it.content;
    else if (S_ISLNK(st.st_mode))
      l << " -> " << it.link_target;
    else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      l << " rdev=" << major(st.st_rdev) << ":" << minor(st.st_rdev);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto [pos, fresh] = first_path.emplace(std::make_pair(st.st_dev, st.st_ino), it.rel);
      if (!fresh)
        l << " link=" << pos->second;
    }
    if (opts.exact_times)
      l << " atime=" << st.st_atim.tv_sec << "." << st.st_atim.tv_nsec
        << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
    else if (S_ISDIR(st.st_mode) ? opts.dir_mtimes : opts.mtimes)
      l << " mtime=" << st.st_mtim.tv_sec;
    l << it.xattrs << "\n";
    out += l.str();
  }
  return out;
}

Result<std::string> tree_digest(const std::string& root, const TreeDigestOptions& opts) {
  auto listing = tree_listing(root, opts);
  if (!listing)
    return std::move(listing).error();
  return digest::sha256_of(*listing);
}

} // namespace strata::testing
