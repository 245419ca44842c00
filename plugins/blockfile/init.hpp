#pragma once
// The blockfile plugin's init, in the static library so tests can run it with their own
// InitContext and ScratchSetup.

#include "scratch.hpp"

#include <strata/plugin/registration.hpp>

namespace strata::blockfile {

/// Plugin id and URI.
inline constexpr const char* plugin_id = "blockfile";

/// Decodes the config, opens the snapshotter (creating the root), makes or checks the scratch
/// (ensure_scratch: skipping with its reason when there is none and no way to make one), opens the
/// snapshotter and fills the meta: exports "root", "fs_type", "scratch" (and "missing_snapshots"
/// when snapshot images are missing). No "rebase": every image is a copy of its parent's, so a
/// commit cannot move a snapshot onto another parent. `setup` is for tests; the plugin passes
/// default_mkfs_dirs(). Errors: the config's; ensure_scratch()'s; open's.
InitResult init(InitContext& ic, const ScratchSetup& setup);

} // namespace strata::blockfile
