#pragma once
// The overlay snapshotter's configuration, decoded once at init from its [plugins."..."] section.

#include <strata/plugin/error.hpp>
#include <strata/plugin/json.hpp>

#include <string>
#include <vector>

namespace strata::overlay {

/// TOML defaults of [plugins."strata.snapshotter.v1.overlayfs"]. The host checks the operator's
/// keys and types against these; decode() checks again so that direct users get the same rules.
inline constexpr const char* default_config =
    R"(# Extra overlay options appended to every overlay mount (never to bind mounts), e.g. ["volatile"].
mount_options = []
# Add the label containerd.io/snapshot/overlay.upperdir (the snapshot's upper directory) to
# stat, update and walk results. The label is computed, never stored.
upperdir_label = false
# Delete orphaned snapshot directories on every remove, not only the removed one.
sync_remove = false
# Without idmapped mounts, honour uid/gid mapping labels by copying the parents' tree with
# shifted ownership into the new snapshot (slow, uses space). False refuses such snapshots.
slow_chown = false
)";

/// The decoded section.
struct Config {
  std::vector<std::string> mount_options; ///< extra overlay options, in order
  bool upperdir_label = false;            ///< inject the upperdir label into Info
  bool sync_remove = false;               ///< sweep every orphan directory on remove
  bool slow_chown = false;                ///< chowned copies when idmapped mounts are missing
};

/// Decodes the effective section. Errors: InvalidArgument naming the key for an unknown key or a
/// value of the wrong type.
Result<Config> decode(const json::object& section);

} // namespace strata::overlay
