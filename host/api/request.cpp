#include "api/request.hpp"

#include <strata/plugin/try.hpp>

#include <boost/beast/core/string.hpp>

#include <iterator>

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

std::vector<std::string_view> Request::query_params(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [key, value] : query_list)
    if (key == name)
      out.emplace_back(value);
  return out;
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

Status check_framing(const http::fields& headers) {
  auto [first, last] = headers.equal_range(http::field::transfer_encoding);
  if (first == last)
    return {};
  if (std::next(first) != last)
    return invalid_argument("Transfer-Encoding is given more than once; send it once, "
                            "\"Transfer-Encoding: chunked\"");
  if (headers.count(http::field::content_length))
    return invalid_argument("Transfer-Encoding and Content-Length are both given; send one");
  std::string_view value(first->value().data(), first->value().size());
  std::vector<std::string_view> codings;
  while (true) {
    auto comma = value.find(',');
    auto coding = value.substr(0, comma);
    while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
      coding.remove_prefix(1);
    while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
      coding.remove_suffix(1);
    if (coding.empty())
      return invalid_argument("Transfer-Encoding: \"" + std::string(value) +
                              "\" holds an empty coding");
    codings.push_back(coding);
    if (comma == std::string_view::npos)
      break;
    value = value.substr(comma + 1);
  }
  if (codings.size() == 1 && boost::beast::iequals(codings[0], "chunked"))
    return {};
  return not_implemented("Transfer-Encoding: \"" +
                         std::string(first->value().data(), first->value().size()) +
                         "\" is not supported; stratad decodes only \"chunked\" (send the body "
                         "uncompressed)");
}

Result<Request> make_request(http::verb method, std::string_view target, http::fields headers,
                             std::string body) {
  Request r;
  r.method = method;
  r.target = std::string(target);
  auto q = target.find('?');
  r.path = std::string(target.substr(0, q));
  if (q != std::string_view::npos) {
    STRATA_TRY_ASSIGN(auto list, parse_query_list(target.substr(q + 1)));
    for (const auto& [key, value] : list)
      r.query[key] = value;
    r.query_list = std::move(list);
  }
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

} // namespace strata::host::api
