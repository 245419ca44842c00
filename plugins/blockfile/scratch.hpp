#pragma once
// The scratch image <root>/scratch: the empty filesystem every parentless snapshot is a copy of.

#include "config.hpp"

#include <strata/plugin/error.hpp>

#include <optional>
#include <string>
#include <vector>

namespace strata::blockfile {

/// What the scratch setup needs besides the config.
struct ScratchSetup {
  /// Where mkfs.<fs_type> may be (default_mkfs_dirs()). Tests point it at an empty directory to
  /// see the skip of a host without mkfs; the plugin never changes it.
  std::vector<std::string> mkfs_dirs;
};

/// <root>/scratch.
std::string scratch_path(const std::string& root);

/// Makes sure <root>/scratch is there and fits `config`:
/// - it is missing, or config.recreate_scratch: copied from config.scratch_file (which must hold
///   a filesystem of config.fs_type), or else generated: a sparse file of config.size formatted by
///   mkfs.<fs_type> from setup.mkfs_dirs, mounted once (with config.mount_options) to remove
///   lost+found so that a new snapshot is an empty tree. Either way it is built as
///   <root>/scratch.new, fsynced and renamed into place (a crash leaves the old scratch or none,
///   never half of one);
/// - it exists: its superblock must be of config.fs_type and its size config.size (or that of
///   config.scratch_file, when set and present).
/// Returns a skip reason when the scratch must be made and cannot be: no scratch_file and no
/// mkfs.<fs_type> in setup.mkfs_dirs (the reason names the binary and where it was looked for).
/// Errors: FailedPrecondition for an existing scratch of another type or size (naming both, the
/// file and the fixes) and for a scratch_file of another type; those of reading, copying, mkfs
/// and mounting, naming the file.
Result<std::optional<std::string>> ensure_scratch(const std::string& root, const Config& config,
                                                  const ScratchSetup& setup);

} // namespace strata::blockfile
