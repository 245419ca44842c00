#pragma once
// Routing requests to handlers by method and path pattern.

#include "api/request.hpp"
#include "api/response.hpp"

#include <functional>
#include <string>
#include <vector>

namespace strata::host::api {

/// Builds the response to one request. Called on the server's threads, possibly concurrently
/// with other handlers, so whatever it shares must be thread-safe. An exception it throws
/// becomes a 500 Internal response; it never reaches the server.
using Handler = std::function<Response(const Request&)>;

/// Routes by method and path pattern. A pattern is a path whose segments are literals or
/// "{name}", which matches one non-empty segment (percent-decoded, so "a%2Fb" gives "a/b").
/// Where two patterns match, the one with a literal at the first differing segment wins
/// ("/v1/images/import" before "/v1/images/{name}").
/// Routes are added before the server starts; dispatch() is then safe on any number of threads.
class Router {
public:
  /// Adds a route; `streaming` says how it moves its bodies (see Streaming). A malformed
  /// pattern or a second route for the same method and pattern is a programming error:
  /// std::invalid_argument naming the pattern.
  void add(http::verb method, std::string pattern, Handler handler,
           Streaming streaming = streaming::none);

  /// Answers `request`: fills its params and calls the matching handler. Never throws:
  /// unknown path -> 404 NotFound naming the nearby routes, known path with another method ->
  /// 405 with Allow, malformed path -> 400, handler exception -> 500 Internal, a BodyStream from
  /// a route not registered with Streaming::download -> 500 Internal.
  Response dispatch(Request& request) const;

  /// The streaming flags of the route dispatch() would choose for `method` and `path` (the
  /// target without its query); streaming::none when no route matches.
  Streaming streaming(http::verb method, std::string_view path) const;

  /// "GET /v1/plugins", ... in the order added.
  std::vector<std::string> routes() const;

private:
  struct Segment {
    std::string text; ///< the literal, or the parameter name
    bool is_param = false;
  };
  struct Route {
    http::verb method;
    std::string pattern;
    std::vector<Segment> segments;
    Handler handler;
    Streaming streaming;
  };

  static bool matches(const Route& route, const std::vector<std::string>& segments);
  // The most specific route for `method` and `segments`; null when none, with the methods of
  // the routes that match the path in `allowed`.
  const Route* find(http::verb method, const std::vector<std::string>& segments,
                    std::vector<std::string>& allowed) const;
  std::string not_found_message(const Request& request,
                                const std::vector<std::string>& segments) const;

  std::vector<Route> routes_;
};

/// GET /v1/health -> {"status":"ok"}: answers as soon as the server serves, for probes and
/// scripts waiting for stratad.
void add_health_route(Router& router);

} // namespace strata::host::api
