#include "routes/json_body.hpp"

#include <strata/plugin/try.hpp>

#include <fmt/format.h>

namespace strata::host {

Status only_fields(const json::object& o, std::initializer_list<std::string_view> allowed,
                   std::string_view where, std::string_view shape) {
  for (const auto& field : o) {
    bool known = false;
    for (auto a : allowed)
      known = known || field.key() == a;
    if (!known)
      return invalid_argument(
          fmt::format("{}: unknown field \"{}\"; expected {}", where, field.key(), shape));
  }
  return {};
}

Result<const json::object*> body_object(const api::Request& req, const json::value& body,
                                        std::initializer_list<std::string_view> allowed,
                                        std::string_view shape) {
  auto where = fmt::format("{} {}", api::http::to_string(req.method), req.path);
  if (!body.is_object())
    return invalid_argument(fmt::format("{} expects {}", where, shape));
  STRATA_TRY(only_fields(body.get_object(), allowed, where, shape));
  return &body.get_object();
}

Status check_labels(const Labels& labels, std::string_view what) {
  if (labels.count(""))
    return invalid_argument(
        fmt::format("{}: a label with an empty key (value \"{}\"); label keys must not be empty",
                    what, labels.at("")));
  return {};
}

Result<Labels> labels_field(const json::object& o, std::string_view name) {
  auto labels = optional_field<Labels>(o, name);
  if (!labels)
    return labels;
  if (auto st = check_labels(*labels, fmt::format("\"{}\"", name)); !st)
    return std::move(st).error();
  return labels;
}

} // namespace strata::host
