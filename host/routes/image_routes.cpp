#include "routes/image_routes.hpp"
#include "routes/json_body.hpp"
#include "routes/unpack_route.hpp"
#include "routes/walk_response.hpp"

#include <strata/plugin/try.hpp>
#include <strata/plugin/types.hpp>

#include <fmt/format.h>

namespace strata::host {
namespace {

using api::Request;
using api::Response;
using api::http::verb;

constexpr const char* images_uri = "strata.service.v1.images";
constexpr std::string_view import_shape =
    R"({"path": "/abs/layout-or.tar", "name"?: "...", "platform"?: "os/arch[/variant]", "labels"?: {...}})";

Result<ImportOptions> import_options(const json::object& o) {
  ImportOptions opts;
  if (const auto* n = o.if_contains("name"); n && !n->is_null()) {
    auto name = from_json<std::string>(*n, "name");
    if (!name)
      return std::move(name).error();
    opts.name = std::move(*name);
  }
  if (const auto* p = o.if_contains("platform"); p && !p->is_null()) {
    STRATA_TRY_ASSIGN(auto text, from_json<std::string>(*p, "platform"));
    if (!text.empty()) {
      auto platform = parse_platform(text);
      if (!platform)
        return std::move(platform).error();
      opts.platform = std::move(*platform);
    }
  }
  auto labels = labels_field(o);
  if (!labels)
    return std::move(labels).error();
  opts.labels = std::move(*labels);
  return opts;
}

Response import(ImageService& images, const Request& req) {
  auto body = req.json_body();
  if (!body)
    return Response::error(body.error());
  auto o = body_object(req, *body, {"path", "name", "platform", "labels"}, import_shape);
  if (!o)
    return Response::error(o.error());
  const auto* path = (*o)->if_contains("path");
  if (!path || !path->is_string() || path->as_string().empty())
    return Response::error(invalid_argument(fmt::format(
        "POST /v1/images/import expects {} (the path is read by stratad)", import_shape)));
  if (path->as_string().front() != '/')
    return Response::error(invalid_argument(fmt::format(
        "path \"{}\" must be absolute: stratad reads it on its own filesystem, from its own "
        "working directory",
        std::string_view(path->as_string()))));
  auto opts = import_options(**o);
  if (!opts)
    return Response::error(opts.error());
  auto imported = images.import_layout(std::string(path->as_string()), *opts);
  if (!imported)
    return Response::error(imported.error());
  return Response::json(json::value_from(*imported), 201);
}

// Runs `fn` with the service, or answers 503 when there is none.
api::Handler with_images(ImageServiceLookup lookup,
                         std::function<Response(ImageService&, const Request&)> fn) {
  return [lookup = std::move(lookup), fn = std::move(fn)](const Request& req) {
    auto images = lookup();
    if (!images)
      return Response::error(images.error());
    return fn(**images, req);
  };
}

} // namespace

ImageServiceLookup image_service_of(const PluginSet& plugins) {
  return [&plugins]() -> Result<std::shared_ptr<ImageService>> {
    auto images = plugins.get_as<ImageService>(images_uri);
    if (images)
      return images;
    if (images.error().code() != Code::NotFound)
      return route_error(images.error());
    return unavailable(fmt::format("the images service {} is not loaded; put "
                                   "strata-service-images.so and the content plugin "
                                   "(strata-content-content.so) in a plugin directory",
                                   images_uri));
  };
}

void add_image_routes(api::Router& router, ImageServiceLookup images) {
  router.add(verb::post, "/v1/images/import", with_images(images, import),
             api::streaming::long_running);
  router.add(verb::get, "/v1/images", with_images(images, [](ImageService& s, const Request& req) {
               return walk_response(s, req);
             }));
  router.add(verb::get, "/v1/images/{name}",
             with_images(images, [](ImageService& s, const Request& req) {
               return Response::from([&]() -> Result<json::value> {
                 STRATA_TRY_ASSIGN(auto image, s.get(std::string(req.param("name"))));
                 return json::value_from(image);
               }());
             }));
  router.add(verb::post, "/v1/images/{name}/unpack", unpack_route(images),
             api::Streaming{.download = true, .long_running = true});
  router.add(verb::delete_, "/v1/images/{name}",
             with_images(images, [](ImageService& s, const Request& req) {
               if (auto st = s.remove(std::string(req.param("name"))); !st)
                 return Response::error(st.error());
               return Response::json(nullptr, 204);
             }));
}

void add_image_routes(api::Router& router, const PluginSet& plugins) {
  add_image_routes(router, image_service_of(plugins));
}

} // namespace strata::host
