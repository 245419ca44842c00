#pragma once
// The overlay plugin's init, in the static library so tests can run it with their own
// InitContext.

#include <strata/plugin/registration.hpp>

namespace strata::overlay {

/// Plugin id and URI.
inline constexpr const char* plugin_id = "overlayfs";

/// Decodes the config, creates the root, probes overlay there (skipping with the reason when it
/// cannot work), opens the snapshotter and fills the meta: export "root" (and "userxattr" when
/// used, "missing_snapshots" when snapshot directories are missing), capabilities "rebase" and,
/// when idmapped mounts work, "remap-ids".
InitResult init(InitContext& ic);

} // namespace strata::overlay
