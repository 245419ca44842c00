#include "routes/plugin_routes.hpp"

namespace strata::host {

void add_plugin_routes(api::Router& router, const PluginSet& plugins) {
  // The set is complete before the server starts and never changes afterwards, so handlers on
  // several threads may read it without a lock.
  // Quick: served from memory on the I/O thread, so it answers while workers are busy.
  router.add(
      api::http::verb::get, "/v1/plugins",
      [&plugins](const api::Request&) {
        return api::Response::json(json::value_from(plugins.records()));
      },
      api::streaming::quick);
}

} // namespace strata::host
