#pragma once
// The diff API: apply a layer blob onto mounts, compare two sets of mounts into a layer blob.

#include "api/router.hpp"
#include "daemon/plugin_set.hpp"

#include <strata/plugin/differ.hpp>

#include <functional>
#include <memory>
#include <string>

namespace strata::host {

/// Finds the differ a request works on: "" means the diff service (which tries the configured
/// differs in order), anything else the differ plugin of that id (refusing
/// ApplyTarget::UpperdirUnknownLowers with NotImplemented unless it lists apply-unknown-lowers,
/// as the diff service does). NotFound naming the plugin when it is not loaded; Unavailable with
/// the plugin's status and reason when it is not ok.
using DifferLookup = std::function<Result<std::shared_ptr<Differ>>(const std::string& id)>;

/// The lookup over the initialised plugins in `plugins` (which must outlive it).
DifferLookup differ_of(const PluginSet& plugins);

/// Adds the diff routes. Both run on a thread of their own (applying a layer takes a while) and
/// accept `differ=ID` to use one differ plugin directly instead of the diff service.
///   POST /v1/diff/apply    {"descriptor": Descriptor, "mounts": [Mount], "options"?:
///                          ApplyOptions} -> 200 + Descriptor of the uncompressed layer applied
///   POST /v1/diff/compare  {"lower": [Mount], "upper": [Mount], "options"?: CompareOptions}
///                          -> 201 + Descriptor of the layer blob written to the content store
/// Errors are the differ's: 501 NotImplemented when no differ handles these mounts or this
/// media type (the message names each one tried), 404 NotFound (blob missing), 400
/// InvalidArgument (bad request, corrupt layer), 412 FailedPrecondition (diff ID mismatch),
/// 412 NeedsParent (target upperdir-unknown-lowers and the layer needs the layers below), 503
/// Unavailable (no diff service).
void add_diff_routes(api::Router& router, DifferLookup differs);

/// add_diff_routes() with differ_of(plugins).
void add_diff_routes(api::Router& router, const PluginSet& plugins);

} // namespace strata::host
