#pragma once
/// \file
/// Root-confined file operations: every lookup below a root directory goes through openat2(2)
/// with RESOLVE_IN_ROOT, so ".." and symlinks (absolute or relative) can never lead outside it,
/// whatever an archive or an image put there. No string-prefix checks anywhere.

#include "strata/fs/posix.hpp"

#include <strata/plugin/error.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace strata::fs {

/// Cleans a slash-separated name taken from untrusted input (a tar header, a link target) into a
/// path relative to a root: leading '/' dropped, empty and "." components dropped, ".." applied
/// lexically. "" means the root itself.
/// Errors: InvalidArgument when ".." would climb above the root (naming `name`).
Result<std::string> clean_relative(std::string_view name);

/// (parent, base) of a cleaned non-empty relative path: "a/b/c" -> ("a/b", "c"), "c" -> ("", "c").
std::pair<std::string_view, std::string_view> split_parent(std::string_view rel) noexcept;

/// An open directory that confines lookups.
class Root {
public:
  /// Opens `path` as a root. Errors: NotFound; InvalidArgument (not a directory); others by errno.
  static Result<Root> open(const std::string& path);

  /// The root's directory fd.
  int fd() const noexcept { return fd_.get(); }
  /// The path it was opened with, for messages.
  const std::string& path() const noexcept { return path_; }

  /// openat2(root, rel, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): symlinks met on
  /// the way resolve as if the root were "/". `rel` "" opens the root itself. Add O_NOFOLLOW to
  /// refuse a symlink as the last component. Errors by errno (sys_error), naming root and rel.
  Result<UniqueFd> open_at(std::string_view rel, int flags, mode_t mode = 0) const;

  /// Called for each directory make_dirs() created, parents first: its open fd and its path
  /// relative to the root. An error stops make_dirs() with that error.
  using MadeDir = std::function<Status(int fd, std::string_view rel)>;

  /// The directory `rel`, with missing components created with `mode` (owned by the caller),
  /// each passed to `made` (when set) before anything is created below it.
  /// Errors: InvalidArgument when a component exists and is not a directory (or a symlink that
  /// resolves to one inside the root); `made`'s errors; others by errno.
  Result<UniqueFd> make_dirs(std::string_view rel, mode_t mode, const MadeDir& made = {}) const;

private:
  Root(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

/// Removes `name` in directory `dirfd` and, for a directory, everything below it, never following
/// symlinks (each level is opened with O_NOFOLLOW relative to its parent). A missing `name` is
/// no error. `display` names the path in messages. Errors by errno.
Status remove_all_at(int dirfd, const std::string& name, std::string_view display);

} // namespace strata::fs
