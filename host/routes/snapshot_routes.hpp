#pragma once
// The snapshots API: the snapshots of one snapshotter plugin, named in the path, prepared,
// viewed, committed, mounted, labelled, listed, measured and removed.

#include "api/router.hpp"
#include "daemon/plugin_set.hpp"

#include <strata/plugin/snapshotter.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace strata::host {

/// One snapshotter plugin as the routes see it: its record (id, status, reason) and, when it is
/// ok, its instance.
struct SnapshotterEntry {
  PluginRecord record;
  std::shared_ptr<Snapshotter> instance; ///< null unless record.status is Ok
};

/// Every snapshotter plugin the host knows about, ok or not. Called once per request, so it must
/// be cheap and thread-safe.
using SnapshotterCatalog = std::function<std::vector<SnapshotterEntry>()>;

/// The plugins of type strata.snapshotter.v1 in `plugins` (which must outlive the catalog). An ok
/// plugin whose instance is not a Snapshotter is listed with status error and that reason.
SnapshotterCatalog snapshotters_of(const PluginSet& plugins);

/// Adds the snapshot routes. {name} is a snapshotter plugin's id ("overlayfs" for
/// strata.snapshotter.v1.overlayfs); {key} is a snapshot key or committed name, percent-encoded
/// as one segment ("a%2Fb%20c" is the key "a/b c"). Keys in the path and in bodies ("key",
/// "parent", "name") follow check_snapshot_key() (non-empty, <= 4096 bytes, UTF-8, no NUL): 400
/// otherwise. Unknown body fields and empty label keys are 400 (json_body.hpp).
///   GET    /v1/snapshotters                     [{"name","status","reason"?,"capabilities"}]
///   GET    /v1/snapshotters/{name}/snapshots    Info list in name order; `filter` (repeatable)
///                                               as walk filters: several are OR'd, the terms
///                                               of one (comma-separated) AND'd
///   POST   /v1/snapshotters/{name}/snapshots    {"key", "parent"?, "labels"?, "kind"?} ->
///                                               201 + the Mount list. "kind" is "active"
///                                               (default: prepare) or "view" (view): one route
///                                               creates both, as both take the same arguments
///   GET    /v1/snapshotters/{name}/snapshots/{key}          Info
///   PATCH  /v1/snapshotters/{name}/snapshots/{key}          {"labels": {k: v}, "fieldpaths"?}
///                                               -> Info; an empty value removes a label;
///                                               without fieldpaths only the labels given change
///   DELETE /v1/snapshotters/{name}/snapshots/{key}          204
///   GET    /v1/snapshotters/{name}/snapshots/{key}/mounts   the Mount list
///   GET    /v1/snapshotters/{name}/snapshots/{key}/usage    Usage
///   POST   /v1/snapshotters/{name}/snapshots/{key}/commit   {"name", "labels"?, "parent"?}
///                                               -> 201 + Info of the committed snapshot
///   POST   /v1/snapshotters/{name}/cleanup                  204
/// Unknown fields in a request body are 400, so a misspelt "parnet" is not silently dropped.
/// Errors: 404 NotFound when no snapshotter has that id (the message lists those there are);
/// 503 Unavailable with the plugin's reason when it is there but not ok; otherwise the
/// snapshotter's codes: 404 NotFound, 409 AlreadyExists, 412 FailedPrecondition (committed
/// key's mounts, removing a parent, committing a view), 400 InvalidArgument, 501 NotImplemented
/// (cleanup of a snapshotter that has nothing to clean).
void add_snapshot_routes(api::Router& router, SnapshotterCatalog catalog);

/// add_snapshot_routes() with snapshotters_of(plugins).
void add_snapshot_routes(api::Router& router, const PluginSet& plugins);

} // namespace strata::host
