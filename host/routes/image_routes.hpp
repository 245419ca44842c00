#pragma once
// The images API: import OCI image layouts, list, inspect and remove image records.

#include "api/router.hpp"
#include "daemon/plugin_set.hpp"

#include <strata/plugin/images.hpp>

#include <functional>
#include <memory>

namespace strata::host {

/// Finds the images service. Unavailable, with the reason and the fix, when there is none.
using ImageServiceLookup = std::function<Result<std::shared_ptr<ImageService>>()>;

/// strata.service.v1.images in `plugins` (which must outlive the lookup). Errors: Unavailable
/// naming its status and reason when it is not ok, or saying it is not loaded.
ImageServiceLookup image_service_of(const PluginSet& plugins);

/// Adds the image routes, all answering 503 Unavailable when `images` finds no service:
///   POST   /v1/images/import  {"path", "name"?, "platform"? "os/arch[/variant]", "labels"?}
///                             -> 201 + [Image]. `path` is read by stratad on its own
///                             filesystem (a directory or a tar of an OCI image layout), with
///                             stratad's privileges: this is not an upload. Runs on a thread of
///                             its own (an import streams every layer into the content store).
///   GET    /v1/images         [Image]; `filter` (repeatable): name==N, labels.K==V, labels.K
///   GET    /v1/images/{name}  Image (the name percent-encoded as one segment)
///   DELETE /v1/images/{name}  204; the blobs stay in the content store
///   POST   /v1/images/{name}/unpack {"snapshotter"? (default "overlayfs"), "parallel"? true,
///                             "syncFs"? false, "progress"? false} -> UnpackResult. With
///                             "progress": true the answer is 200 application/x-ndjson, one
///                             {"progress": UnpackProgress} line per step and a last line
///                             {"result": UnpackResult} or {"error": {"code", "message"}}.
/// Errors are the service's: 400 InvalidArgument (bad layout or request, naming the blob and
/// file), 404 NotFound (no such path, image or platform), 503 Unavailable.
void add_image_routes(api::Router& router, ImageServiceLookup images);

/// add_image_routes() with image_service_of(plugins).
void add_image_routes(api::Router& router, const PluginSet& plugins);

} // namespace strata::host
