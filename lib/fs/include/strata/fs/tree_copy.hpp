#pragma once
/// \file
/// The one tree copy: everything below a source directory into an empty target directory, with
/// owners (optionally shifted), modes, nanosecond times, xattrs, hardlink sets, symlinks, devices
/// and fifos, each file by copy_file() (reflinked where the filesystem can, holes kept). The
/// native snapshotter's prepare and overlay's slow_chown copy are this.

#include "strata/fs/copy.hpp"

#include <strata/plugin/error.hpp>

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

namespace strata::fs {

/// How copy_tree() copies.
struct TreeCopy {
  /// The owner each copy gets, from its source's (uid, gid): e.g. a shift into a user namespace's
  /// range. Empty: the source's owners are kept.
  std::function<std::pair<uid_t, gid_t>(uid_t, gid_t)> owner;
  /// Which xattrs are copied and what an xattr the target refuses (ENOTSUP, EPERM, EACCES, E2BIG,
  /// ERANGE: a `security.*` without the privilege, `user.*` where the filesystem has none) does:
  /// the walking differ's rule. The default skips a refused one with a warning, as the walking
  /// differ's default `xattr_errors` does; its `warn`, when empty, is `warn` below.
  XattrCopy xattrs{{}, true, {}, "skip refused xattrs in the copy's XattrCopy to ignore it"};
  /// Receives one line per thing not copied (a socket, a refused xattr); may be empty.
  std::function<void(std::string_view)> warn;
  /// For tests and benches only: the first method copy_file() tries per file.
  CopyMethod first_method = CopyMethod::Clone;
};

/// What copy_tree() made.
struct TreeCopyStats {
  std::uint64_t files = 0;           ///< regular files copied (each hardlink set once)
  std::uint64_t dirs = 0;            ///< directories made below the target
  std::uint64_t symlinks = 0;        ///< symlinks made (same target text)
  std::uint64_t devices = 0;         ///< character and block devices made
  std::uint64_t fifos = 0;           ///< fifos made
  std::uint64_t hardlinks = 0;       ///< further names linked to an inode already copied
  std::uint64_t sockets_skipped = 0; ///< sockets, which cannot be copied (and are not)
  std::uint64_t bytes_cloned = 0;    ///< file bytes shared by FICLONE
  std::uint64_t bytes_copied = 0;    ///< file bytes copied (holes not counted)
};

/// Copies everything below the directory `src` into the existing empty directory `dst`, then gives
/// `dst` the attributes of `src`. Per entry, in the order that keeps each: create, owner (through
/// `how.owner`), xattrs (after the chown, which drops security.capability), mode (set-id bits
/// after the chown, which clears them; none on symlinks), then atime/mtime to the nanosecond;
/// a directory's mode and times once its content is made. Regular files by copy_file(); the
/// names of a hardlink set (by st_dev/st_ino) as hardlinks to the first copy; symlinks with the
/// same target text, never followed; character and block devices and fifos by mknod; sockets
/// skipped, counted and warned about. Everything is fd-relative: O_NOFOLLOW opens, a bounded-fd
/// walk on both sides (any depth), hardlinks resolved below `dst` without following symlinks, so
/// no symlink leads out of either root. A failed copy leaves what it made in `dst` (the caller
/// removes it). `src_shown` and `dst_shown` name the roots in messages.
/// Errors: InvalidArgument when `dst` is not empty or lies inside `src`; Unavailable when a
/// source entry changed type while copied; copy_file()'s, copy_attrs()' (a refused xattr unless
/// skipped) and the walk's; others by errno (sys_error), naming the path.
Result<TreeCopyStats> copy_tree(int src, int dst, std::string_view src_shown,
                                std::string_view dst_shown, const TreeCopy& how = {});

/// copy_tree() of the directories at the paths `src` and `dst`, each opened as a root.
/// Errors: opening either (NotFound, InvalidArgument when not a directory); as above.
Result<TreeCopyStats> copy_tree(const std::string& src, const std::string& dst,
                                const TreeCopy& how = {});

} // namespace strata::fs
