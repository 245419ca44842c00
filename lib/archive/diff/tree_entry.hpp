#pragma once
// TreeEntry: what the diff compares and writes about one name in a directory, read without
// ever following a symlink.

#include <strata/fs/posix.hpp>
#include <strata/plugin/error.hpp>

#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

namespace strata::archive::detail {

struct TreeEntry {
  struct stat st {};
  std::string link_target;                                 ///< symlinks only
  std::vector<std::pair<std::string, std::string>> xattrs; ///< sorted by name

  bool is_dir() const { return S_ISDIR(st.st_mode); }
  bool is_reg() const { return S_ISREG(st.st_mode); }
};

/// Reads `name` in directory `dirfd`. `display` names it in errors.
Result<TreeEntry> read_entry(int dirfd, const std::string& name, const std::string& display);

/// The names in directory `dirfd` ("." and ".." excluded) in byte order; an fd of -1 has none.
Result<std::vector<std::string>> sorted_names(int dirfd, const std::string& display);

/// Opens directory `name` in `dirfd` without following a symlink.
Result<fs::UniqueFd> open_dir(int dirfd, const std::string& name, const std::string& display);

/// True when two regular files have the same bytes.
Result<bool> same_content(int dirfd_a, const std::string& a, int dirfd_b, const std::string& b,
                          const std::string& display);

} // namespace strata::archive::detail
