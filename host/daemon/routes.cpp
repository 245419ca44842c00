#include "daemon/routes.hpp"

namespace strata::host {

void add_plugin_routes(api::Router& router, const PluginSet& plugins) {
  // The set is complete before the server starts and never changes afterwards, so handlers on
  // several threads may read it without a lock.
  router.add(api::http::verb::get, "/v1/plugins", [&plugins](const api::Request&) {
    return api::Response::json(json::value_from(plugins.records()));
  });
}

} // namespace strata::host
