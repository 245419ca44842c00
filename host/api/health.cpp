#include "api/router.hpp"

namespace strata::host::api {

void add_health_route(Router& router) {
  router.add(
      http::verb::get, "/v1/health",
      [](const Request&) {
        return Response::json(json::object{{"status", "ok"}});
      },
      streaming::quick);
}

} // namespace strata::host::api
