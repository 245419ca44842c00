#include "api/request.hpp"

namespace strata::host::api {

std::string_view Request::param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string_view{} : std::string_view(it->second);
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end())
    return std::nullopt;
  return std::string_view(it->second);
}

std::string_view Request::header(std::string_view name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string_view{} : std::string_view(it->value());
}

Result<json::value> Request::json_body() const {
  if (body.empty())
    return invalid_argument("request body is empty; " + std::string(http::to_string(method)) + " " +
                            path + " expects a JSON document");
  return parse_json(body, "request body");
}

Result<Request> make_request(http::verb method, std::string_view target, http::fields headers,
                             std::string body) {
  Request r;
  r.method = method;
  r.target = std::string(target);
  auto q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    auto query = parse_query(target.substr(q + 1));
    if (!query)
      return std::move(query).error();
    r.query = std::move(*query);
  }
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

} // namespace strata::host::api
