#include "entry_writer.hpp"

#include <strata/fs/copy.hpp>
#include <strata/plugin/try.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <set>

namespace strata::archive::detail {

namespace {

// A path that reaches (parent, base) without following `base`: the parent fd's magic link,
// which the kernel resolves to that very directory, then the name.
std::string proc_path(int parent, const std::string& base) {
  return "/proc/self/fd/" + std::to_string(parent) + "/" + base;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

} // namespace

void entry_times(archive_entry* e, struct timespec out[2]) {
  out[1].tv_sec = archive_entry_mtime(e);
  out[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    out[0].tv_sec = archive_entry_atime(e);
    out[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    out[0] = out[1];
  }
}

Status EntryWriter::write(TarReader& tar, archive_entry* e, const std::string& rel,
                          DirTimes* dir_times) {
  auto [parent_rel, base] = fs::split_parent(rel);
  // Entries come grouped by directory, so the parent is usually the previous entry's: reuse its
  // fd instead of resolving the path again. What the cache holds is exactly what make_dirs would
  // return now: the resolution of a path that resolved before can only change when one of its
  // components is removed (creating needs a free name, which no component is), and every entry
  // that removes something, and every directory entry (whose mode or owner may change who can
  // walk through it), drops the cache below.
  if (!parent_ || parent_rel != parent_rel_) {
    forget_parent();
    STRATA_TRY_ASSIGN(auto dir, copy_up_.make_dirs(parent_rel));
    parent_ = std::move(dir);
    parent_rel_ = parent_rel;
  }
  replaced_ = false;
  Status st = write_at(tar, e, rel, parent_.get(), std::string(base), dir_times);
  if (!st || replaced_ || archive_entry_filetype(e) == AE_IFDIR)
    forget_parent();
  return st;
}

void EntryWriter::forget_parent() noexcept {
  parent_.reset();
  parent_rel_.clear();
}

Status EntryWriter::clear_name(int parent, const std::string& base, const std::string& rel,
                               mode_t type) {
  // Whatever is at the name goes, unless a directory meets a directory (they merge). Removal
  // never follows a symlink: a link planted by an earlier entry is replaced, not written through.
  struct stat existing {};
  if (::fstatat(parent, base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
    if (!(S_ISDIR(existing.st_mode) && type == AE_IFDIR)) {
      replaced_ = true;
      STRATA_TRY(fs::remove_all_at(parent, base, rel));
    }
  } else if (errno != ENOENT) {
    return fs::sys_error("cannot stat " + rel, errno);
  }
  return {};
}

Status EntryWriter::write_at(TarReader& tar, archive_entry* e, const std::string& rel, int pfd,
                             const std::string& base, DirTimes* dir_times) {
  const mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);

  if (hardlink)
    return write_hardlink(pfd, base, rel, hardlink);

  // Regular files (nearly all entries) clear their name only when the exclusive create finds
  // it taken, which spares a new file the stat.
  if (type != AE_IFREG)
    STRATA_TRY(clear_name(pfd, base, rel, type));

  switch (type) {
  case AE_IFREG: {
    fs::UniqueFd fd;
    STRATA_TRY(write_regular(tar, pfd, base, rel, e, fd));
    return set_metadata(e, fd.get(), pfd, base, false, false);
  }
  case AE_IFDIR: {
    if (::mkdirat(pfd, base.c_str(), 0700) != 0 && errno != EEXIST)
      return fs::sys_error("cannot create directory " + rel, errno);
    fs::UniqueFd fd(::openat(pfd, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd)
      return fs::sys_error("cannot open directory " + rel, errno);
    STRATA_TRY(set_metadata(e, fd.get(), pfd, base, false, true));
    // In an upperdir, a directory that replaces a non-directory (a whiteout, a file of this
    // layer) must not merge with a lower directory of the same name: that one is gone.
    if (replaced_ && opts_.whiteouts == WhiteoutMode::Overlay &&
        ::fsetxattr(fd.get(), opts_.opaque_xattr.c_str(), "y", 1, 0) != 0)
      return fs::sys_error("cannot set " + opts_.opaque_xattr + " on " + rel, errno);
    if (dir_times) {
      dir_times->rel = rel;
      entry_times(e, dir_times->times);
    }
    return {};
  }
  case AE_IFLNK: {
    const char* target = archive_entry_symlink(e);
    if (!target || !*target)
      return invalid_argument("symlink without a target");
    // The target text is kept verbatim: it is only ever resolved later through RESOLVE_IN_ROOT
    // (here) or inside the container's own root.
    if (::symlinkat(target, pfd, base.c_str()) != 0)
      return fs::sys_error("cannot create symlink " + rel, errno);
    return set_metadata(e, -1, pfd, base, true, false);
  }
  case AE_IFCHR:
  case AE_IFBLK:
  case AE_IFIFO: {
    dev_t dev = 0;
    if (type != AE_IFIFO) {
      // The kernel's device numbers are 12-bit major, 20-bit minor; whatever does not fit would
      // be truncated, and a device that becomes 0:0 is a whiteout in an upperdir: the file would
      // silently vanish from the merged view.
      const unsigned long major = archive_entry_rdevmajor(e), minor = archive_entry_rdevminor(e);
      const std::string numbers = std::to_string(major) + ":" + std::to_string(minor);
      dev = ::makedev(major, minor);
      if (major >= (1UL << 12) || minor >= (1UL << 20) || ::major(dev) != major ||
          ::minor(dev) != minor)
        return invalid_argument("device " + rel + " has number " + numbers +
                                ", out of range (major below 4096, minor below 1048576)");
      if (type == AE_IFCHR && dev == 0 && opts_.whiteouts == WhiteoutMode::Overlay)
        return invalid_argument("character device " + rel +
                                " is 0:0, which an overlay upperdir reads as a whiteout; "
                                "write a .wh. entry to delete a file");
    }
    if (::mknodat(pfd, base.c_str(), type | 0600, dev) != 0)
      return fs::sys_error("cannot create device node " + rel, errno);
    return set_metadata(e, -1, pfd, base, false, false);
  }
  default:
    return invalid_argument("unsupported tar entry type " + std::to_string(type >> 12) +
                            " (sockets and unknown types cannot be applied)");
  }
}

Status EntryWriter::write_regular(TarReader& tar, int parent, const std::string& base,
                                  const std::string& rel, archive_entry* e, fs::UniqueFd& out) {
  // O_EXCL never follows a symlink at the name: it fails with EEXIST like for any other entry.
  constexpr int create = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
  out = fs::UniqueFd(::openat(parent, base.c_str(), create, 0600));
  if (!out && errno == EEXIST) {
    STRATA_TRY(clear_name(parent, base, rel, AE_IFREG));
    out = fs::UniqueFd(::openat(parent, base.c_str(), create, 0600));
  }
  if (!out)
    return fs::sys_error("cannot create " + base, errno);
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  la_int64_t end = 0; // the new file's size so far
  for (;;) {
    int rc = archive_read_data_block(tar.handle(), &block, &size, &offset);
    if (rc == ARCHIVE_EOF)
      break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return tar.error("reading data");
    const auto* p = static_cast<const char*>(block);
    while (size > 0) {
      ssize_t n = ::pwrite(out.get(), p, size, offset);
      if (n < 0) {
        if (errno == EINTR)
          continue;
        return fs::sys_error("cannot write " + base, errno);
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
      end = std::max(end, offset);
    }
  }
  // Sparse files end in a hole that no data block covers; any other file has its size already.
  if (end != archive_entry_size(e) && ::ftruncate(out.get(), archive_entry_size(e)) != 0)
    return fs::sys_error("cannot size " + base, errno);
  return {};
}

Status EntryWriter::write_hardlink(int parent, const std::string& base, const std::string& name_rel,
                                   const char* target) {
  auto rel = fs::clean_relative(target);
  if (!rel)
    return std::move(rel).error().wrap("hardlink target");
  if (rel->empty())
    return invalid_argument("hardlink to the root directory");
  const std::string shown = "hardlink target \"" + std::string(target) + "\"";
  auto [tparent_rel, tbase_view] = fs::split_parent(*rel);
  const std::string tbase(tbase_view);
  const bool overlay = opts_.whiteouts == WhiteoutMode::Overlay;
  auto tparent = root_.open_at(tparent_rel, O_RDONLY | O_DIRECTORY);
  if (!tparent && !(overlay && tparent.error().code() == Code::NotFound))
    return std::move(tparent).error().wrap(shown);
  struct stat st {};
  // An upperdir may lack the target (an earlier layer, a lowerdir, has it) or hold a whiteout
  // there (it is gone): overlay mode looks through the layers and copies a found target up.
  bool missing = !tparent;
  if (tparent && ::fstatat(tparent->get(), tbase.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (!(overlay && errno == ENOENT))
      return fs::sys_error(shown, errno);
    missing = true;
  }
  if (tparent && !missing && overlay && is_overlay_whiteout(st))
    missing = true;
  if (missing) {
    auto dir = copy_up_.target_dir(*rel);
    if (!dir)
      return std::move(dir).error().wrap(shown);
    tparent = std::move(*dir);
    if (::fstatat(tparent->get(), tbase.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return fs::sys_error(shown, errno);
  }
  if (S_ISDIR(st.st_mode))
    return invalid_argument("hardlink to directory \"" + std::string(target) +
                            "\": directories cannot be hardlinked");
  // The target is resolved before the name is cleared, so a link to the path itself (or to
  // another name of the same inode) leaves the file alone instead of deleting it.
  struct stat existing {};
  if (::fstatat(parent, base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
    if (existing.st_dev == st.st_dev && existing.st_ino == st.st_ino)
      return {};
    replaced_ = true;
    STRATA_TRY(fs::remove_all_at(parent, base, name_rel));
  } else if (errno != ENOENT) {
    return fs::sys_error("cannot stat " + name_rel, errno);
  }
  // No AT_SYMLINK_FOLLOW: a hardlink to a symlink links the symlink itself, never what it
  // points at (which may be outside the root).
  if (::linkat(tparent->get(), tbase.c_str(), parent, base.c_str(), 0) != 0)
    return fs::sys_error("cannot link to \"" + std::string(target) + "\"", errno);
  return {};
}

Status EntryWriter::set_metadata(archive_entry* e, int fd, int parent, const std::string& base,
                                 bool is_symlink, bool is_dir) {
  if (!opts_.no_same_owner) {
    const uid_t uid = static_cast<uid_t>(archive_entry_uid(e));
    const gid_t gid = static_cast<gid_t>(archive_entry_gid(e));
    int rc = fd >= 0 ? ::fchown(fd, uid, gid)
                     : ::fchownat(parent, base.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    if (rc != 0)
      return fs::sys_error("cannot chown to " + std::to_string(uid) + ":" + std::to_string(gid) +
                               (errno == EINVAL ? " (uid/gid not mapped in this user namespace; "
                                                  "set no_same_owner or map the ids)"
                                                : ""),
                           errno);
  }
  STRATA_TRY(set_xattrs(e, fd, parent, base));
  if (!is_symlink) {
    const mode_t mode = archive_entry_perm(e) & 07777;
    // AT_SYMLINK_NOFOLLOW: even a node we just made is never chmodded through a symlink.
    int rc =
        fd >= 0 ? ::fchmod(fd, mode) : ::fchmodat(parent, base.c_str(), mode, AT_SYMLINK_NOFOLLOW);
    if (rc != 0)
      return fs::sys_error("cannot chmod", errno);
  }
  if (!is_dir) { // directories get their times at the end
    struct timespec times[2];
    entry_times(e, times);
    int rc = fd >= 0 ? ::futimens(fd, times)
                     : ::utimensat(parent, base.c_str(), times, AT_SYMLINK_NOFOLLOW);
    if (rc != 0)
      return fs::sys_error("cannot set times", errno);
  }
  return {};
}

Status EntryWriter::set_xattrs(archive_entry* e, int fd, int parent, const std::string& base) {
  if (archive_entry_xattr_reset(e) == 0)
    return {};
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  // PAX archives may carry an xattr twice (SCHILY.xattr and LIBARCHIVE.xattr); the first wins.
  std::set<std::string, std::less<>> seen;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n = name ? name : "";
    if (!seen.emplace(n).second)
      continue;
    // overlayfs' own xattrs in a layer would let an image forge opaque dirs or redirects.
    if (starts_with(n, "trusted.overlay.") || starts_with(n, "user.overlay.")) {
      if (opts_.warn)
        opts_.warn("ignored xattr " + std::string(n) + " on " + base +
                   ": overlayfs metadata is never taken from a layer");
      continue;
    }
    int rc = fd >= 0 ? ::fsetxattr(fd, name, value, size, 0)
                     : ::lsetxattr(proc_path(parent, base).c_str(), name, value, size, 0);
    if (rc == 0)
      continue;
    const int err = errno;
    // Refused by the filesystem or our privileges (fs::xattr_refused), not a broken apply.
    const bool refused = fs::xattr_refused(err);
    if (refused && opts_.unsupported_xattrs == XattrPolicy::SkipWithWarning) {
      if (opts_.warn)
        opts_.warn("skipped xattr " + std::string(n) + " on " + base + ": " + std::strerror(err));
      continue;
    }
    return fs::sys_error("cannot set xattr " + std::string(n) +
                             (refused ? " (set the xattr policy to skip to ignore it)" : ""),
                         err);
  }
  return {};
}

} // namespace strata::archive::detail
