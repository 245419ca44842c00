#pragma once
/// \file
/// Copying one inode's bytes and attributes onto another: a whole file's data (reflinked, or in
/// the kernel over its data extents, never turning holes into zeros), then owner, xattrs, mode and
/// times in the order that keeps each of them. Shared by the archive's overlay copy-up and the tree
/// copy (tree_copy.hpp), so that both keep the same details (set-id bits, security.capability,
/// nanosecond times, holes).

#include <strata/plugin/error.hpp>

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::fs {

/// An inode addressed by an open fd (regular files, directories) or, never followed, by a name in
/// an open directory (symlinks, devices, fifos, sockets, which cannot be opened for this).
struct Node {
  int fd = -1;      ///< the inode's own descriptor, or -1 to use `dir` and `name`
  int dir = -1;     ///< with fd -1: the directory holding `name`
  std::string name; ///< with fd -1: the entry in `dir`

  /// The inode open as `fd` (borrowed).
  static Node open(int fd) { return Node{fd, -1, {}}; }
  /// The entry `name` of the open directory `dir` (borrowed), never followed.
  static Node at(int dir, std::string name) { return Node{-1, dir, std::move(name)}; }
};

/// True when setting an xattr failed because the target refuses it rather than because the copy
/// broke: ENOTSUP (a namespace or filesystem without it, user.* on a symlink or device), EPERM or
/// EACCES (trusted.* or security.* without the privilege), E2BIG or ERANGE (a value larger than the
/// filesystem holds). The one rule behind XattrCopy::skip_refused and the archive's XattrPolicy.
bool xattr_refused(int err) noexcept;

/// How copy_xattrs() treats names and refusals.
struct XattrCopy {
  /// Names starting with one of these are not copied (e.g. overlayfs' own "trusted.overlay.").
  std::vector<std::string> skip_prefixes;
  /// An xattr the target refuses (ENOTSUP, EPERM, EACCES, E2BIG, ERANGE) is skipped, with a
  /// message to `warn` (when set), instead of failing the copy.
  bool skip_refused = false;
  /// Receives "skipped xattr NAME copying SHOWN: REASON" for each one skipped that way.
  std::function<void(std::string_view)> warn;
  /// Appended to the error of a refused xattr when refusals fail: how to skip them instead.
  std::string refused_hint;
};

/// Every xattr of `from` onto `to`, in listing order, except the names `how` skips. A source
/// whose filesystem keeps no xattrs (or lets none be listed: ENOTSUP, EPERM on the list) has
/// none; one removed between the list and its read is skipped. `shown` names the source.
/// Errors by errno (sys_error): listing or reading the source; setting one on the target,
/// unless `how` skips refusals.
Status copy_xattrs(const Node& from, const Node& to, std::string_view shown, const XattrCopy& how);

/// Which attributes copy_attrs() gives the target, and from where.
struct AttrCopy {
  /// The owner to give the target (a shifted one is fine); nullopt leaves it as created (tar's
  /// --no-same-owner).
  std::optional<std::pair<uid_t, gid_t>> owner;
  /// The source's xattrs, copied after the chown (which drops security.capability); nullopt
  /// copies none.
  std::optional<XattrCopy> xattrs;
  /// The permission bits of the stat (set-id and sticky included), after the chown (which clears
  /// set-id bits). Never on symlinks, which have none of their own.
  bool mode = true;
  /// The access and modification times of the stat, to the nanosecond, last.
  bool times = true;
};

/// Gives `to` the attributes `what` asks for: owner, xattrs of `from`, mode and times from `st`
/// (the source's stat), in that order. `shown` names the copy in messages.
/// Errors by errno (sys_error), naming the step and `shown`; copy_xattrs()' errors.
Status copy_attrs(const Node& from, const Node& to, const struct stat& st, std::string_view shown,
                  const AttrCopy& what);

/// How copy_file() moved a file's bytes, cheapest first.
enum class CopyMethod {
  /// FICLONE: the target shares the source's extents (a reflink); nothing was written.
  Clone,
  /// copy_file_range(2) over the source's data extents only (SEEK_DATA/SEEK_HOLE); the
  /// filesystem may still share or copy them in place.
  CopyRange,
  /// pread/pwrite, all-zero 4 KiB blocks skipped (left as holes) instead of written.
  ReadWrite,
};

/// What one copy_file() did.
struct FileCopyStats {
  /// Bytes shared with the source by FICLONE (the source's size when cloned, else 0).
  std::uint64_t bytes_cloned = 0;
  /// Data bytes moved by copy_file_range or written; holes and skipped zero blocks not counted.
  std::uint64_t bytes_copied = 0;
  /// The method that ran; ReadWrite when copy_file_range gave up part way.
  CopyMethod method = CopyMethod::Clone;
};

/// Copies the whole regular file `in` onto `out`, an empty regular file open for writing (both
/// at offset 0; where they are left is unspecified), keeping holes: FICLONE when the filesystem
/// can share the extents; else copy_file_range over the data extents only, then ftruncate to the
/// source's size so that trailing holes stay holes; else (copy_file_range refused with EXDEV,
/// ENOSYS, EOPNOTSUPP or EINVAL, or no SEEK_DATA) a read/write loop that seeks over all-zero
/// blocks. A sparse file never turns dense. `shown` names the source in messages; `stats`, when
/// set, receives what was done.
/// Errors: InvalidArgument when `in` is not a regular file or `out` is not empty; by errno
/// (sys_error), naming `shown`: stat, clone (other than "cannot clone here"), seek, read of `in`;
/// write or truncate of `out` (ENOSPC: ResourceExhausted).
Status copy_file(int in, int out, std::string_view shown, FileCopyStats* stats = nullptr);

/// copy_file() starting at `first` instead of Clone: CopyRange skips FICLONE, ReadWrite runs the
/// read/write fallback alone over the whole file, as where SEEK_DATA is missing (every byte read,
/// all-zero blocks left as holes). For tests and benches that must exercise or measure one path;
/// production code calls the overload above. Errors: as copy_file().
Status copy_file(int in, int out, std::string_view shown, FileCopyStats* stats, CopyMethod first);

} // namespace strata::fs
