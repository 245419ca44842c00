#pragma once
// The native plugin's init, in the static library so tests can run it with their own
// InitContext.

#include <strata/plugin/registration.hpp>

namespace strata::native {

/// Plugin id and URI.
inline constexpr const char* plugin_id = "native";

/// Decodes the config, opens the snapshotter on the plugin root and fills the meta: export "root"
/// (and "missing_snapshots" when snapshot directories are missing). No "rebase" capability: a
/// snapshot is a copy of its parent, so it cannot be committed onto another one.
InitResult init(InitContext& ic);

} // namespace strata::native
