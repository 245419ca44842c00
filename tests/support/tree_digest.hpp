#pragma once
// tree_digest: one digest over everything a layer can carry in a directory tree — names, types,
// modes (setuid bits included), owners, sizes, contents, symlink targets, device numbers,
// xattrs and hardlink groups — so two trees compare with one string, and tree_listing() shows
// the difference when they do not match.
#include <strata/plugin/error.hpp>

#include <string>
#include <vector>

namespace strata::testing {

struct TreeDigestOptions {
  /// Include regular files' and symlinks' mtimes (seconds). Directory times never count.
  bool mtimes = false;
  /// Xattr name prefixes left out (e.g. "trusted.overlay." when comparing an upperdir).
  std::vector<std::string> exclude_xattrs = {"security.selinux"};
  /// Treat 0:0 character devices as absent (overlay whiteouts seen in an upperdir).
  bool skip_whiteout_devices = false;
};

/// One line per entry below `root`, sorted by path. Errors: NotFound; Internal on I/O.
Result<std::string> tree_listing(const std::string& root, const TreeDigestOptions& opts = {});
/// "sha256:<hex>" of tree_listing().
Result<std::string> tree_digest(const std::string& root, const TreeDigestOptions& opts = {});

} // namespace strata::testing
