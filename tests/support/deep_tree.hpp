#pragma once
// Deep trees and a lowered fd limit, for the tests that a walk keeps a bounded number of fds open
// at any depth (a 1,900-level tree must work under a 256-fd limit).
#include <sys/resource.h>

#include <string>

namespace strata::testing {

/// Creates `depth` nested directories named `name` below the existing directory `dir` (one fd
/// open at a time), with a file `leaf` holding `data` in the deepest one when `leaf` is set.
/// Returns false (with errno set) on failure.
bool make_deep_tree(const std::string& dir, int depth, const std::string& name = "d",
                    const std::string& leaf = "f", const std::string& data = "deep");

/// Lowers the soft RLIMIT_NOFILE to `soft` while it lives (the previous limit comes back after).
class FdLimit {
public:
  explicit FdLimit(rlim_t soft);
  ~FdLimit();
  FdLimit(const FdLimit&) = delete;
  FdLimit& operator=(const FdLimit&) = delete;
  bool ok() const { return ok_; }

private:
  rlimit saved_{};
  bool ok_ = false;
};

/// The number of fds this process has open (entries of /proc/self/fd).
int open_fd_count();

} // namespace strata::testing
