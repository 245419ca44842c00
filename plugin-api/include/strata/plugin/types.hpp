#pragma once
/// \file
/// Plugin type strings. A plugin's URI is "<type>.<id>", e.g. "strata.snapshotter.v1.overlayfs";
/// it names the plugin in config sections, disabled_plugins, required_plugins and its directories.
/// Third-party plugins may use these constants or copy the strings.

namespace strata::plugin_type {
/// Snapshotters: implement strata::Snapshotter.
inline constexpr const char* snapshotter = "strata.snapshotter.v1";
/// Differs: implement strata::Differ (Applier + Comparer).
inline constexpr const char* differ = "strata.differ.v1";
/// Content stores: implement strata::ContentStore.
inline constexpr const char* content = "strata.content.v1";
/// Services built on the plugins above (diff, images, snapshots): implement strata::Instance.
inline constexpr const char* service = "strata.service.v1";
/// Internal helpers with no public interface of their own.
inline constexpr const char* internal = "strata.internal.v1";
} // namespace strata::plugin_type
