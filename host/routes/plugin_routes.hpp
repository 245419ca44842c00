#pragma once
// The daemon's API routes.

#include "api/router.hpp"
#include "daemon/plugin_set.hpp"

namespace strata::host {

/// GET /v1/plugins: every plugin record, in init order then file failures.
void add_plugin_routes(api::Router& router, const PluginSet& plugins);

} // namespace strata::host
