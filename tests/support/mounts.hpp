#pragma once
// What is mounted, and taking it down: for tests that make real mounts and must leave none
// behind, even when they fail halfway.

#include <string>
#include <vector>

namespace strata::testing {

/// Mount points from /proc/self/mountinfo, with its octal escapes (space, tab, newline,
/// backslash) undone.
std::vector<std::string> mount_points();

/// True when `path` is a mount point.
bool is_mount_point(const std::string& path);

/// Unmounts (MNT_DETACH) every mount at or below `path`, deepest first, stacked ones too.
void unmount_below(const std::string& path);

} // namespace strata::testing
