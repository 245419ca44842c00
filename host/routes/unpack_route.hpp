#pragma once
// POST /v1/images/{name}/unpack (documented with the other image routes in image_routes.hpp).

#include "api/router.hpp"

#include <strata/plugin/images.hpp>

#include <functional>
#include <memory>

namespace strata::host {

/// The handler of POST /v1/images/{name}/unpack; register it with Streaming download +
/// long_running. `images` finds the images service (Unavailable when there is none).
api::Handler unpack_route(std::function<Result<std::shared_ptr<ImageService>>()> images);

} // namespace strata::host
