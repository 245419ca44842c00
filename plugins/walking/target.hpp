#pragma once
// Where an apply writes, from the mounts and ApplyOptions::target (strata/plugin/differ.hpp): a
// single bind mount (the directory itself; with UpperdirUnknownLowers an upperdir whose lowers
// are not known yet), a single overlay mount (straight into its upperdir, whiteouts in overlay
// form, its lowerdirs being all the lowers) and a single filesystem image mount (the "loop"
// option: the whole tree, written through a temporary mount of it); anything else is
// NotImplemented so that the diff service can try the next differ.

#include <strata/archive/apply.hpp>
#include <strata/plugin/differ.hpp>
#include <strata/plugin/mount.hpp>

#include <string>
#include <vector>

namespace strata::walking {

struct ApplyTarget {
  /// The directory written; empty for an image until apply() has mounted it.
  std::string dir;
  /// A filesystem image mount ("loop"): apply() mounts these on a temporary directory, writes
  /// there (whiteouts remove, as on a bind directory) and unmounts them again.
  std::vector<Mount> image;
  archive::WhiteoutMode whiteouts = archive::WhiteoutMode::Remove;
  std::string opaque_xattr = "trusted.overlay.opaque";
  /// Overlay only: the lowerdirs, nearest first.
  std::vector<std::string> lowerdirs;
  /// ApplyTarget::UpperdirUnknownLowers: the caller (a parallel unpack) applies a layer before
  /// its parents exist. Entries that need the parents fail with NeedsParent so that it applies
  /// the layer again onto them.
  bool parents_unknown = false;
};

/// Where to write for `target` (see strata::ApplyTarget).
/// Errors: NotImplemented (no mount, several mounts, another type without "loop", an overlay
/// without upperdir, UpperdirUnknownLowers on anything but one bind mount); InvalidArgument (a
/// read-only mount, a relative directory or image path, an upperdir or lowerdir value that is
/// not validly escaped).
Result<ApplyTarget> apply_target(const std::vector<Mount>& mounts,
                                 strata::ApplyTarget target = strata::ApplyTarget::Mounts);

/// True for a single filesystem image mount (the "loop" option): its tree is reachable only
/// through a mount of it.
bool is_image(const std::vector<Mount>& mounts);

/// The directory a read-only comparison can walk for `mounts`: "" for no mounts (an empty
/// tree) or the source of a single bind mount. An image (is_image) is mounted by compare().
/// Errors: NotImplemented for anything else (it would need a temporary mount).
Result<std::string> plain_directory(const std::vector<Mount>& mounts, const char* which);

} // namespace strata::walking
