#include "tree.hpp"

#include <strata/fs/copy.hpp>
#include <strata/fs/posix.hpp>
#include <strata/fs/walk.hpp>

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <set>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <utility>

namespace strata::overlay {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

using fs::list_dir;

void count(const struct stat& st, std::set<InodeKey>& seen, Usage& u) {
  if (seen.insert({st.st_dev, st.st_ino}).second) {
    u.inodes += 1;
    u.size += static_cast<std::int64_t>(st.st_blocks) * 512;
  }
}

// Iterative with a bounded number of open fds, so that a layer of any depth can be measured.
Status usage_below(int dirfd, const std::string& display, std::set<InodeKey>& seen, Usage& u) {
  fs::WalkVisitor v;
  v.enter = [&](int fd, const std::string& name, const fs::WalkPath& at) -> Result<bool> {
    struct stat st {};
    if (::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT)
        return false;
      return fs::sys_error("cannot stat " + at.display(name), errno);
    }
    count(st, seen, u);
    return S_ISDIR(st.st_mode);
  };
  return fs::walk_below(dirfd, display, v);
}

// Copy state shared across the recursion.
struct Copier {
  const std::vector<mount::IdMapping>& uids;
  const std::vector<mount::IdMapping>& gids;
  std::map<InodeKey, std::pair<int, std::string>> links; // first copy: (dst dir fd owner, path)
  std::string dst_root;

  // The shifted owner, then mode and times (xattrs are not copied).
  Status attrs(const fs::Node& from, const fs::Node& to, const struct stat& st,
               const std::string& shown) const {
    fs::AttrCopy what;
    what.owner = {map_id(uids, st.st_uid), map_id(gids, st.st_gid)};
    return fs::copy_attrs(from, to, st, shown, what);
  }

  Status copy_file(int sfd, int ddir, const std::string& name, const struct stat& st,
                   const std::string& sdisp, const std::string& ddisp) {
    fs::UniqueFd in(::openat(sfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in)
      return fs::sys_error("cannot open " + sdisp, errno);
    fs::UniqueFd out(
        ::openat(ddir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out)
      return fs::sys_error("cannot create " + ddisp, errno);
    if (Status c = fs::copy_data(in.get(), out.get(), sdisp); !c)
      return c;
    return attrs(fs::Node::open(in.get()), fs::Node::open(out.get()), st, sdisp);
  }

  Status copy_dir(int sfd, int dfd, const std::string& sdisp, const std::string& ddisp,
                  const std::string& rel) {
    auto names = list_dir(sfd, sdisp);
    if (!names)
      return std::move(names).error();
    for (const std::string& name : *names) {
      const std::string s = sdisp + "/" + name, d = ddisp + "/" + name;
      const std::string r = rel.empty() ? name : rel + "/" + name;
      struct stat st {};
      if (::fstatat(sfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return fs::sys_error("cannot stat " + s, errno);
      if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
        auto it = links.find({st.st_dev, st.st_ino});
        if (it != links.end()) {
          std::string first = dst_root + "/" + it->second.second;
          if (::linkat(AT_FDCWD, first.c_str(), dfd, name.c_str(), 0) != 0)
            return fs::sys_error("cannot link " + d + " to " + first, errno);
          continue;
        }
        links[{st.st_dev, st.st_ino}] = {0, r};
      }
      if (S_ISDIR(st.st_mode)) {
        if (::mkdirat(dfd, name.c_str(), 0700) != 0)
          return fs::sys_error("cannot create " + d, errno);
        fs::UniqueFd ssub(
            ::openat(sfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        fs::UniqueFd dsub(
            ::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!ssub || !dsub)
          return fs::sys_error("cannot open " + (ssub ? d : s), errno);
        if (Status st2 = copy_dir(ssub.get(), dsub.get(), s, d, r); !st2)
          return st2;
        // Last, so that creating the entries does not change the copied times.
        if (Status st2 = attrs(fs::Node::open(ssub.get()), fs::Node::open(dsub.get()), st, s); !st2)
          return st2;
      } else if (S_ISREG(st.st_mode)) {
        if (Status st2 = copy_file(sfd, dfd, name, st, s, d); !st2)
          return st2;
      } else if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
        ssize_t n = ::readlinkat(sfd, name.c_str(), target.data(), target.size());
        if (n < 0)
          return fs::sys_error("cannot read link " + s, errno);
        target.resize(static_cast<std::size_t>(n));
        if (::symlinkat(target.c_str(), dfd, name.c_str()) != 0)
          return fs::sys_error("cannot create symlink " + d, errno);
        if (Status st2 = attrs(fs::Node::at(sfd, name), fs::Node::at(dfd, name), st, s); !st2)
          return st2;
      } else {
        if (::mknodat(dfd, name.c_str(), st.st_mode & (S_IFMT | 0600), st.st_rdev) != 0)
          return fs::sys_error("cannot create special file " + d, errno);
        if (Status st2 = attrs(fs::Node::at(sfd, name), fs::Node::at(dfd, name), st, s); !st2)
          return st2;
      }
    }
    return {};
  }
};

} // namespace

Result<Usage> disk_usage(const std::string& dir) {
  fs::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd)
    return fs::sys_error("cannot open " + dir, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return fs::sys_error("cannot stat " + dir, errno);
  std::set<InodeKey> seen;
  Usage u;
  count(st, seen, u);
  if (Status s = usage_below(fd.get(), dir, seen, u); !s)
    return s.error();
  return u;
}

std::uint32_t map_id(const std::vector<mount::IdMapping>& mappings, std::uint32_t id) {
  for (const auto& m : mappings)
    if (id >= m.container_id && id - m.container_id < m.size)
      return m.host_id + (id - m.container_id);
  return 65534;
}

Status copy_shifted(const std::string& src, const std::string& dst,
                    const std::vector<mount::IdMapping>& uids,
                    const std::vector<mount::IdMapping>& gids) {
  fs::UniqueFd sfd(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!sfd)
    return fs::sys_error("cannot open " + src, errno);
  fs::UniqueFd dfd(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dfd)
    return fs::sys_error("cannot open " + dst, errno);
  struct stat st {};
  if (::fstat(sfd.get(), &st) != 0)
    return fs::sys_error("cannot stat " + src, errno);
  Copier c{uids, gids, {}, dst};
  if (Status s = c.copy_dir(sfd.get(), dfd.get(), src, dst, ""); !s)
    return s;
  return c.attrs(fs::Node::open(sfd.get()), fs::Node::open(dfd.get()), st, src);
}

} // namespace strata::overlay
