#pragma once
// What overlay can do on the filesystem holding the snapshotter root, found out by mounting for
// real at init (never guessed from the kernel version).

#include <strata/plugin/error.hpp>

#include <optional>
#include <string>

namespace strata::overlay {

/// Overlay features the mounts of this snapshotter rely on.
struct Features {
  /// Overlay mounts need "userxattr" (overlay metadata in user.* xattrs): set when a plain
  /// overlay does not work here but one with userxattr does (typically in a user namespace).
  bool userxattr = false;
  /// The kernel knows overlay's "index" option, so "index=off" can be added to every mount.
  bool index_option = true;
  /// Idmapped bind mounts and overlays with idmapped lowerdirs work here (capability
  /// "remap-ids"); uid/gid mapping labels are then applied at mount time.
  bool idmap = false;
};

/// The outcome of probing: either the features, or why overlay cannot be used here.
struct ProbeResult {
  Features features;
  /// Set when the snapshotter cannot work on this root; the plugin then skips with this reason.
  std::optional<std::string> unsupported;
};

/// Probes overlay on the filesystem holding `root` (an existing directory) with tiny mounts in
/// temporary directories created and removed under `root`: a plain overlay with an upperdir and
/// checks that whiteouts and opaque directories work through it, then (if that fails) the same
/// with "userxattr"; then idmapped mounts. Probe directories a crash left under `root` are
/// removed first. Errors: only when the probe directories cannot be
/// created or removed.
Result<ProbeResult> probe(const std::string& root);

} // namespace strata::overlay
