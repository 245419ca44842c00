#pragma once
// GET of a collection that a plugin walks with filters (content blobs, snapshots): one shape for
// every such route.

#include "api/request.hpp"
#include "api/response.hpp"

#include <string>
#include <vector>

namespace strata::host {

/// The JSON array of everything `store.walk` yields for the request's repeatable `filter`
/// parameters (passed through verbatim: the plugin parses them and names a bad one), or the
/// walk's error. `Store` is any plugin interface with walk(fn, filters).
template <class Store> api::Response walk_response(Store& store, const api::Request& req) {
  std::vector<std::string> filters;
  for (auto f : req.query_params("filter"))
    filters.emplace_back(f);
  json::array out;
  auto st = store.walk(
      [&out](const auto& info) -> Status {
        out.push_back(json::value_from(info));
        return {};
      },
      filters);
  if (!st)
    return api::Response::error(st.error());
  return api::Response::json(std::move(out));
}

} // namespace strata::host
