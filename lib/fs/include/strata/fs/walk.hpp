#pragma once
/// \file
/// Depth-first walks of a directory tree that keep a bounded number of file descriptors open at
/// any depth: a tree thousands of levels deep (which an archive can carry in a few hundred bytes)
/// must not exhaust the process's fd limit.

#include "strata/fs/posix.hpp"

#include <strata/plugin/error.hpp>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::fs {

/// The names in the open directory `fd` (without "." and ".."), read through a descriptor of its
/// own (openat "."), so that `fd` stays open, usable and at its offset. Holds one extra fd while it
/// reads. Errors by errno as themselves (EMFILE shows as "Too many open files"), naming `display`.
Result<std::vector<std::string>> list_dir(int fd, std::string_view display);

/// Where a walk is: renders the path of an entry of the current directory for messages.
class WalkPath {
public:
  /// `display` of the walked directory followed by the current directory's names and `name`.
  virtual std::string display(std::string_view name) const = 0;

protected:
  ~WalkPath() = default;
};

/// Callbacks of walk_below(). `dirfd` is the open directory that holds `name`.
struct WalkVisitor {
  /// Each entry, parents before children. Answers true to descend into `name` (which must then be
  /// a directory: it is opened with O_DIRECTORY | O_NOFOLLOW; ENOENT there skips it, as a
  /// concurrent removal). An error stops the walk with it.
  std::function<Result<bool>(int dirfd, const std::string& name, const WalkPath& at)> enter;
  /// Each directory descended into, once the walk has opened (O_NOFOLLOW) and listed it: `fd` is
  /// that directory itself (borrowed, valid during the call), `at` already inside it
  /// (at.display("") is its path). Called exactly once for each directory `leave` will be called
  /// for, so a visitor can keep state per level (a tree copy's target directories). Optional.
  std::function<Status(int fd, const std::string& name, const WalkPath& at)> opened;
  /// Each directory entered, after everything below it was visited. Optional.
  std::function<Status(int dirfd, const std::string& name, const WalkPath& at)> leave;
};

/// Visits everything below the open directory `dirfd` (borrowed, not closed), each directory
/// listed once when entered. At most `max_open` directory fds of the walk are open at once (plus
/// one while listing): deeper ancestors are closed and re-opened with openat(child, "..") when
/// the walk climbs back, checked by st_dev/st_ino to be the directory it left.
/// Errors: the visitor's; InvalidArgument when a directory was moved while walked (its ".." is
/// no longer the directory it was entered from); others by errno, naming the path.
Status walk_below(int dirfd, std::string_view display, const WalkVisitor& visit,
                  std::size_t max_open = 16);

} // namespace strata::fs
