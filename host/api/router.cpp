#include "api/router.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

namespace strata::host::api {
namespace {

std::string method_name(http::verb v) {
  return std::string(http::to_string(v));
}

// A route is more specific than another when it has a literal where the other has a parameter
// at the first segment where they differ.
bool more_specific(const std::vector<bool>& a, const std::vector<bool>& b) {
  return a > b;
}

} // namespace

void Router::add(http::verb method, std::string pattern, Handler handler, Streaming streaming) {
  auto parts = split_path(pattern);
  if (!parts)
    throw std::invalid_argument("route pattern: " + parts.error().message());
  Route route{method, pattern, {}, std::move(handler), streaming};
  for (auto& part : *parts) {
    bool is_param = part.size() > 2 && part.front() == '{' && part.back() == '}';
    if (!is_param && (part.find_first_of("{}") != std::string::npos || part.empty()))
      throw std::invalid_argument("route pattern \"" + pattern + "\": segment \"" + part +
                                  "\" is neither a literal nor {name}");
    route.segments.push_back(is_param ? Segment{part.substr(1, part.size() - 2), true}
                                      : Segment{part, false});
  }
  for (const auto& r : routes_)
    if (r.method == method && r.pattern == pattern)
      throw std::invalid_argument("route " + method_name(method) + " " + pattern +
                                  " is registered twice");
  routes_.push_back(std::move(route));
}

bool Router::matches(const Route& route, const std::vector<std::string>& segments) {
  if (route.segments.size() != segments.size())
    return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const auto& s = route.segments[i];
    if (s.is_param ? segments[i].empty() : s.text != segments[i])
      return false;
  }
  return true;
}

const Router::Route* Router::find(http::verb method, const std::vector<std::string>& segments,
                                  std::vector<std::string>& allowed) const {
  const Route* best = nullptr;
  std::vector<bool> best_shape;
  for (const auto& route : routes_) {
    if (!matches(route, segments))
      continue;
    if (route.method != method) {
      allowed.push_back(method_name(route.method));
      continue;
    }
    std::vector<bool> shape;
    for (const auto& s : route.segments)
      shape.push_back(!s.is_param);
    if (!best || more_specific(shape, best_shape)) {
      best = &route;
      best_shape = std::move(shape);
    }
  }
  return best;
}

Streaming Router::streaming(http::verb method, std::string_view path) const {
  auto segments = split_path(path);
  if (!segments)
    return streaming::none;
  std::vector<std::string> allowed;
  const Route* route = find(method, *segments, allowed);
  return route ? route->streaming : streaming::none;
}

Response Router::dispatch(Request& request) const {
  auto segments = split_path(request.path);
  if (!segments)
    return Response::error(segments.error());

  std::vector<std::string> allowed;
  const Route* best = find(request.method, *segments, allowed);
  if (!best && allowed.empty())
    return Response::error(not_found(not_found_message(request, *segments)));
  if (!best) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    auto allow = fmt::format("{}", fmt::join(allowed, ", "));
    auto res = Response::error(
        invalid_argument(fmt::format("method {} is not allowed on {}; allowed: {}",
                                     method_name(request.method), request.path, allow)),
        405);
    res.headers.emplace_back("Allow", allow);
    return res;
  }

  request.params.clear();
  for (std::size_t i = 0; i < best->segments.size(); ++i)
    if (best->segments[i].is_param)
      request.params[best->segments[i].text] = (*segments)[i];

  // The handler is the daemon's code, not ours: whatever escapes it becomes a 500 that names
  // the route, and the connection goes on serving.
  try {
    auto response = best->handler(request);
    if (response.body_stream && !best->streaming.download)
      return Response::error(internal_error(
          fmt::format("{} {}: the handler returned a streamed body but the route was not "
                      "registered with Streaming::download",
                      method_name(request.method), best->pattern)));
    return response;
  } catch (const std::exception& e) {
    spdlog::error("api: {} {} failed: {}", method_name(request.method), request.path, e.what());
    return Response::error(internal_error(fmt::format(
        "{} {}: unexpected failure: {}", method_name(request.method), best->pattern, e.what())));
  } catch (...) {
    spdlog::error("api: {} {} failed with a non-standard exception", method_name(request.method),
                  request.path);
    return Response::error(
        internal_error(fmt::format("{} {}: unexpected failure (unknown exception)",
                                   method_name(request.method), best->pattern)));
  }
}

std::vector<std::string> Router::routes() const {
  std::vector<std::string> out;
  for (const auto& r : routes_)
    out.push_back(method_name(r.method) + " " + r.pattern);
  return out;
}

// Lists the routes that share the longest leading run of segments with the request, so a typo
// in "/v1/snapshotters/x/snapshot" points at the snapshot routes rather than at every route.
std::string Router::not_found_message(const Request& request,
                                      const std::vector<std::string>& segments) const {
  auto shared_prefix = [&](const Route& r) {
    std::size_t n = 0;
    while (n < r.segments.size() && n < segments.size() &&
           (r.segments[n].is_param || r.segments[n].text == segments[n]))
      ++n;
    return n;
  };
  std::size_t best = 0;
  for (const auto& r : routes_)
    best = std::max(best, shared_prefix(r));
  std::vector<std::string> nearby;
  for (const auto& r : routes_)
    if (shared_prefix(r) == best)
      nearby.push_back(method_name(r.method) + " " + r.pattern);
  auto msg = fmt::format("no route for {} {}", method_name(request.method), request.path);
  if (nearby.empty())
    return msg + "; this server has no routes";
  // Sharing only "/v1" says nothing about what was meant.
  return fmt::format("{}; {}: {}", msg, best > 1 ? "routes nearby" : "known routes",
                     fmt::join(nearby, ", "));
}

} // namespace strata::host::api
