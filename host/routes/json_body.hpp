#pragma once
// Request bodies of the daemon's routes, read one way by every route: an object holding only the
// fields the route knows, fields converted with their names in every error, and one label rule.

#include "api/request.hpp"

#include <strata/plugin/snapshot.hpp>

#include <initializer_list>
#include <string_view>

namespace strata::host {

/// `body` as a JSON object holding only `allowed` fields. `shape` is the expected document,
/// quoted in every refusal so that the client sees what to send.
/// Errors: InvalidArgument for a non-object or an unknown field (naming it).
Result<const json::object*> body_object(const api::Request& req, const json::value& body,
                                        std::initializer_list<std::string_view> allowed,
                                        std::string_view shape);

/// InvalidArgument naming the field in `where` (e.g. "\"options\"") unless every field of `o` is
/// one of `allowed`.
Status only_fields(const json::object& o, std::initializer_list<std::string_view> allowed,
                   std::string_view where, std::string_view shape);

/// Labels whose keys are all non-empty: an empty key could be stored but never named again (a
/// field path "labels." or a filter "labels.==v" names none). `what` names the field.
/// Errors: InvalidArgument naming `what`.
Status check_labels(const Labels& labels, std::string_view what);

/// Optional field `name` of `o` converted to T; `fallback` when absent or null.
/// Errors: InvalidArgument naming the field for a wrong type.
template <class T>
Result<T> optional_field(const json::object& o, std::string_view name, T fallback = {}) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null())
    return fallback;
  return from_json<T>(*v, name);
}

/// Optional labels field `name` (default "labels") of `o`, its keys checked by check_labels().
Result<Labels> labels_field(const json::object& o, std::string_view name = "labels");

} // namespace strata::host
