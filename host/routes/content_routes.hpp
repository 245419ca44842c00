#pragma once
// The content API: blobs of the content store, listed, streamed in and out, labelled, removed.

#include "api/router.hpp"
#include "daemon/plugin_set.hpp"

#include <strata/plugin/content.hpp>

#include <functional>
#include <memory>

namespace strata::host {

/// Finds the store a content request works on. Unavailable, with the reason and the fix, when
/// there is none.
using ContentStoreLookup = std::function<Result<std::shared_ptr<ContentStore>>()>;

/// The first ok plugin of type strata.content.v1 in `plugins` (which must outlive the lookup).
/// Errors: Unavailable naming the content plugin that is not ok and why, or saying none is
/// loaded.
ContentStoreLookup content_store_of(const PluginSet& plugins);

/// Adds the content routes, all answering 503 Unavailable when `store` finds no store:
///   GET    /v1/content                 ContentInfo list; `filter` (repeatable) as walk filters
///   POST   /v1/content                 streams the body in; `digest`, `size` (verified at
///                                      commit), `ref` (default: a random one), `label=k=v`
///                                      (repeatable); 201 + ContentInfo, 200 when the blob was
///                                      there already (its body is then not read)
///   PUT    /v1/content/{digest}        the same with the digest in the path
///   GET    /v1/content/{digest}        the blob, streamed (application/octet-stream, with
///                                      Content-Length); `offset` skips its first bytes
///   GET    /v1/content/{digest}/info   ContentInfo
///   PATCH  /v1/content/{digest}        {"labels": {k: v}, "fieldpaths"?: [...]} -> ContentInfo;
///                                      an empty value removes a label; without fieldpaths only
///                                      the labels given change
///   DELETE /v1/content/{digest}        204
/// Errors are the store's codes: 404 NotFound, 400 InvalidArgument, 412 FailedPrecondition
/// (digest or size mismatch: nothing is stored), 503 Unavailable (ref in use, no store).
void add_content_routes(api::Router& router, ContentStoreLookup store);

/// add_content_routes() with content_store_of(plugins).
void add_content_routes(api::Router& router, const PluginSet& plugins);

} // namespace strata::host
