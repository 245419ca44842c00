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
  /// Include non-directories' mtimes (seconds).
  bool mtimes = false;
  /// Include directories' mtimes (seconds); off by default because creating children moves
  /// them, and diffs do not carry them for unchanged directories.
  bool dir_mtimes = false;
  /// Xattr name prefixes left out (e.g. "trusted.overlay." when comparing an upperdir).
  std::vector<std::string> exclude_xattrs = {"security.selinux"};
  /// Treat 0:0 character devices as absent (overlay whiteouts seen in an upperdir).
  bool skip_whiteout_devices = false;
  /// Include every entry's atime and mtime to the nanosecond, directories' too (a tree copy's
  /// test). Listing never moves them itself where the caller may (owner or CAP_FOWNER): files
  /// and directories are read with O_NOATIME, a symlink's atime is put back after readlink.
  bool exact_times = false;
  /// Include a line "." for the root directory itself (its mode, owner, times, xattrs).
  bool include_root = false;
};

/// The canonical listing: one line per entry below `root` (root itself excluded), sorted by the
/// bytes of its relative path: "<path> mode=<octal st_mode> owner=<uid>:<gid>", then for
/// regular files "size=<n> sha256:<content>", for symlinks "-> <target>", for devices
/// "rdev=<major>:<minor>", for every later path of an inode with nlink > 1 "link=<first path>",
/// optional "mtime=<s>" or "atime=<s>.<ns> mtime=<s>.<ns>", and " xattr:<name>=<value digest>"
/// per xattr in name order.
/// Errors: NotFound (root missing or not a directory); Internal on I/O, naming the path.
Result<std::string> tree_listing(const std::string& root, const TreeDigestOptions& opts = {});

/// "sha256:<hex>" of tree_listing(). Errors: as tree_listing().
Result<std::string> tree_digest(const std::string& root, const TreeDigestOptions& opts = {});

} // namespace strata::testing
