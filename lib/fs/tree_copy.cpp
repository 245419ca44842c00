// copy_tree: a bounded-fd walk of the source (walk_below) with the target's directories kept in a
// DirChain of their own, level for level (see tree_copy.hpp).
#include "strata/fs/tree_copy.hpp"

#include "dir_chain.hpp"
#include "strata/fs/posix.hpp"
#include "strata/fs/root.hpp"
#include "strata/fs/walk.hpp"
#include "strata/plugin/try.hpp"

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <linux/openat2.h>
#include <map>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <vector>

namespace strata::fs {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

// The directory `rel` below `root`, never through a symlink nor out of `root`: openat2 with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, a few components at a time so that a path longer than
// PATH_MAX (a deep tree) still resolves.
Result<UniqueFd> open_dir_beneath(int root, const std::string& rel, std::string_view shown) {
  UniqueFd cur;
  std::size_t at = 0;
  while (at < rel.size()) {
    std::size_t end = rel.size();
    if (end - at > 1024) {
      end = rel.rfind('/', at + 1024);
      if (end == std::string::npos || end <= at)
        end = rel.find('/', at + 1024); // one name longer than the chunk: NAME_MAX bounds it
      if (end == std::string::npos)
        end = rel.size();
    }
    const std::string part = rel.substr(at, end - at);
    open_how how{};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = -1;
    do
      fd = ::syscall(SYS_openat2, cur ? cur.get() : root, part.c_str(), &how, sizeof how);
    while (fd < 0 && errno == EAGAIN); // a concurrent rename raced the lookup
    if (fd < 0)
      return sys_error("cannot open " + std::string(shown), errno);
    cur.reset(static_cast<int>(fd));
    at = end + 1;
  }
  if (!cur)
    return sys_error("cannot open " + std::string(shown), EINVAL);
  return cur;
}

// The first copy of an inode with more names, and how many of its names are still to come.
struct FirstCopy {
  std::string parent; // directory below the target root ("" = the root)
  std::string name;
  nlink_t left = 0;
};

class TreeCopier {
public:
  TreeCopier(int src, int dst, std::string_view src_shown, std::string_view dst_shown,
             const TreeCopy& how)
      : src_(src), dst_(dst), src_shown_(src_shown), dst_shown_(dst_shown), how_(how),
        xattrs_(how.xattrs), chain_(dst, 16) {
    if (!xattrs_.warn)
      xattrs_.warn = how.warn;
  }

  Result<TreeCopyStats> run() {
    struct stat root {};
    if (::fstat(src_, &root) != 0)
      return sys_error("cannot stat " + src_shown_, errno);
    struct stat dst {};
    if (::fstat(dst_, &dst) != 0)
      return sys_error("cannot stat " + dst_shown_, errno);
    dst_dev_ = dst.st_dev;
    dst_ino_ = dst.st_ino;
    if (dst.st_dev == root.st_dev && dst.st_ino == root.st_ino)
      return invalid_argument("cannot copy " + src_shown_ + " onto itself");
    STRATA_TRY_ASSIGN(auto names, list_dir(dst_, dst_shown_));
    if (!names.empty())
      return invalid_argument("cannot copy " + src_shown_ + " into " + dst_shown_ +
                              ": the target is not empty (it holds \"" + names.front() +
                              "\"); copy into a new directory");
    WalkVisitor v;
    v.enter = [this](int dir, const std::string& name, const WalkPath& at) {
      return enter(dir, name, at);
    };
    v.opened = [this](int fd, const std::string& name, const WalkPath& at) {
      return opened(fd, name, at);
    };
    v.leave = [this](int, const std::string&, const WalkPath& at) { return leave(at); };
    STRATA_TRY(walk_below(src_, src_shown_, v));
    STRATA_TRY(copy_attrs(Node::open(src_), Node::open(dst_), root, src_shown_, attrs(root)));
    return stats_;
  }

private:
  AttrCopy attrs(const struct stat& st, bool mode_and_times = true,
                 bool owner_and_xattrs = true) const {
    AttrCopy what;
    if (owner_and_xattrs) {
      what.owner = how_.owner ? how_.owner(st.st_uid, st.st_gid)
                              : std::pair<uid_t, gid_t>{st.st_uid, st.st_gid};
      what.xattrs = xattrs_;
    }
    what.mode = mode_and_times;
    what.times = mode_and_times;
    return what;
  }

  // The current target directory's path below the target root.
  std::string rel_dir() const {
    std::string out;
    for (const auto& l : levels_)
      out += (out.empty() ? "" : "/") + l.name;
    return out;
  }

  Result<bool> enter(int dir, const std::string& name, const WalkPath& at) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT)
        return false; // removed meanwhile
      return sys_error("cannot stat " + at.display(name), errno);
    }
    if (S_ISDIR(st.st_mode)) {
      // Made in opened(), once the walk holds it open; with this stat, taken before the walk's
      // listing moved the source's atime.
      entered_ = st;
      return true;
    }
    const std::string shown = at.display(name);
    if (S_ISSOCK(st.st_mode)) {
      ++stats_.sockets_skipped;
      if (how_.warn)
        how_.warn("skipped socket " + shown +
                  ": a socket belongs to the process that made it and "
                  "cannot be copied");
      return false;
    }
    const int out = chain_.top();
    const bool linked = st.st_nlink > 1;
    if (linked) {
      auto it = links_.find({st.st_dev, st.st_ino});
      if (it != links_.end()) {
        STRATA_TRY(link(it->second, out, name, shown));
        ++stats_.hardlinks;
        if (--it->second.left == 0)
          links_.erase(it); // every name seen: the entry is no longer needed
        return false;
      }
    }
    if (S_ISREG(st.st_mode)) {
      STRATA_TRY(copy_regular(dir, out, name, st, shown));
      ++stats_.files;
    } else if (S_ISLNK(st.st_mode)) {
      char target[PATH_MAX + 1];
      ssize_t n = ::readlinkat(dir, name.c_str(), target, sizeof target);
      if (n < 0)
        return sys_error("cannot read the symlink " + shown, errno);
      if (static_cast<std::size_t>(n) >= sizeof target)
        return invalid_argument("the symlink " + shown + " has a target longer than PATH_MAX");
      target[n] = '\0';
      if (::symlinkat(target, out, name.c_str()) != 0)
        return sys_error("cannot create the copy of " + shown, errno);
      STRATA_TRY(copy_attrs(Node::at(dir, name), Node::at(out, name), st, shown, attrs(st)));
      ++stats_.symlinks;
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
      if (::mknodat(out, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0)
        return sys_error("cannot create the copy of " + shown, errno);
      STRATA_TRY(copy_attrs(Node::at(dir, name), Node::at(out, name), st, shown, attrs(st)));
      ++(S_ISFIFO(st.st_mode) ? stats_.fifos : stats_.devices);
    } else {
      return invalid_argument(shown + " has an unknown file type (mode " +
                              std::to_string(st.st_mode & S_IFMT) + ")");
    }
    if (linked)
      links_[{st.st_dev, st.st_ino}] = FirstCopy{rel_dir(), name, st.st_nlink - 1};
    return false;
  }

  Status copy_regular(int dir, int out_dir, const std::string& name, const struct stat& st,
                      const std::string& shown) {
    // O_NONBLOCK: should the file have become a fifo meanwhile, the open does not hang.
    UniqueFd in(
        ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!in)
      return sys_error("cannot open " + shown, errno);
    struct stat now {};
    if (::fstat(in.get(), &now) != 0)
      return sys_error("cannot stat " + shown, errno);
    if (!S_ISREG(now.st_mode) || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
      return unavailable(shown + " changed while it was being copied; retry");
    UniqueFd out(::openat(out_dir, name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out)
      return sys_error("cannot create the copy of " + shown, errno);
    FileCopyStats fs;
    STRATA_TRY(copy_file(in.get(), out.get(), shown, &fs, how_.first_method));
    stats_.bytes_cloned += fs.bytes_cloned;
    stats_.bytes_copied += fs.bytes_copied;
    return copy_attrs(Node::open(in.get()), Node::open(out.get()), now, shown, attrs(now));
  }

  Status link(const FirstCopy& first, int out_dir, const std::string& name,
              const std::string& shown) {
    const std::string first_shown =
        dst_shown_ + "/" + (first.parent.empty() ? "" : first.parent + "/") + first.name;
    UniqueFd parent;
    int from = dst_;
    if (!first.parent.empty()) {
      STRATA_TRY_ASSIGN(parent, open_dir_beneath(dst_, first.parent, first_shown));
      from = parent.get();
    }
    if (::linkat(from, first.name.c_str(), out_dir, name.c_str(), 0) != 0)
      return sys_error("cannot link the copy of " + shown + " to " + first_shown, errno);
    return {};
  }

  Status opened(int fd, const std::string& name, const WalkPath& at) {
    const std::string shown = at.display("");
    const struct stat st = entered_;
    struct stat now {};
    if (::fstat(fd, &now) != 0)
      return sys_error("cannot stat " + shown, errno);
    if (now.st_dev != st.st_dev || now.st_ino != st.st_ino)
      return unavailable(shown + " changed while it was being copied; retry");
    if (st.st_dev == dst_dev_ && st.st_ino == dst_ino_)
      return invalid_argument("cannot copy " + src_shown_ + " into " + dst_shown_ +
                              ": the target is inside the source (" + shown + ")");
    const int parent = chain_.top();
    // Owner-only until filled: the mode comes last, as a read-only one would refuse the content.
    if (::mkdirat(parent, name.c_str(), 0700) != 0)
      return sys_error("cannot create the copy of " + shown, errno);
    UniqueFd made(::openat(parent, name.c_str(), kDirFlags));
    if (!made)
      return sys_error("cannot open the copy of " + shown, errno);
    STRATA_TRY(copy_attrs(Node::open(fd), Node::open(made.get()), st, shown, attrs(st, false)));
    STRATA_TRY(chain_.push(std::move(made), "the copy of " + shown));
    levels_.push_back(Level{name, st});
    ++stats_.dirs;
    return {};
  }

  // Mode and times last: creating the content moved the times, and the mode may forbid it.
  Status leave(const WalkPath& at) {
    const Level& l = levels_.back();
    const std::string shown = at.display(l.name);
    const int fd = chain_.top();
    STRATA_TRY(copy_attrs(Node::open(fd), Node::open(fd), l.st, shown, attrs(l.st, true, false)));
    STRATA_TRY(chain_.pop("the copy of " + shown));
    levels_.pop_back();
    return {};
  }

  // One directory of the target below its root, in step with the walk.
  struct Level {
    std::string name;
    struct stat st; // the source directory's
  };

  int src_;
  int dst_;
  std::string src_shown_;
  std::string dst_shown_;
  const TreeCopy& how_;
  XattrCopy xattrs_;
  struct stat entered_ {}; // the directory enter() last let the walk descend into
  dev_t dst_dev_ = 0;
  ino_t dst_ino_ = 0;
  detail::DirChain chain_;
  std::vector<Level> levels_;
  std::map<std::pair<dev_t, ino_t>, FirstCopy> links_;
  TreeCopyStats stats_;
};

} // namespace

Result<TreeCopyStats> copy_tree(int src, int dst, std::string_view src_shown,
                                std::string_view dst_shown, const TreeCopy& how) {
  return TreeCopier(src, dst, src_shown, dst_shown, how).run();
}

Result<TreeCopyStats> copy_tree(const std::string& src, const std::string& dst,
                                const TreeCopy& how) {
  STRATA_TRY_ASSIGN(auto from, Root::open(src));
  STRATA_TRY_ASSIGN(auto to, Root::open(dst));
  return copy_tree(from.fd(), to.fd(), src, dst, how);
}

} // namespace strata::fs
