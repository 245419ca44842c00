#pragma once
// A chain of open directories, each a child of the one before it, of which only the deepest few
// keep their fds: what lets a walk (and a tree copy's target side) go to any depth with a bounded
// number of fds. Internal to lib/fs.

#include "strata/fs/posix.hpp"

#include <strata/plugin/error.hpp>

#include <string>
#include <sys/types.h>
#include <vector>

namespace strata::fs::detail {

class DirChain {
public:
  /// Level 0 is `base` (borrowed, never closed); at most `max_open` (at least 2) deeper levels
  /// keep their fds.
  DirChain(int base, std::size_t max_open) : base_(base), max_open_(max_open < 2 ? 2 : max_open) {}

  /// Levels above the base.
  std::size_t depth() const noexcept { return levels_.size(); }
  /// The deepest level's fd (the base's when there is none).
  int top() const noexcept { return levels_.empty() ? base_ : levels_.back().fd.get(); }

  /// Adds `fd`, a directory opened from top(), as the new deepest level; closes the shallowest
  /// open one beyond the window. `shown` names it in messages. Errors by errno (fstat).
  Status push(UniqueFd fd, const std::string& shown);

  /// Drops the deepest level (`shown` names it). The level that becomes the deepest is re-opened
  /// through ".." when its fd was closed, and must be the directory it was (st_dev/st_ino).
  /// Errors: InvalidArgument when it was moved meanwhile; others by errno.
  Status pop(const std::string& shown);

private:
  struct Level {
    UniqueFd fd; // closed for levels beyond the open window
    dev_t dev = 0;
    ino_t ino = 0;
  };
  int base_;
  std::size_t max_open_;
  std::size_t open_ = 0; // open fds among levels_
  std::vector<Level> levels_;
};

} // namespace strata::fs::detail
