#include "routes/diff_routes.hpp"
#include "routes/json_body.hpp"

#include <strata/plugin/meta.hpp>
#include <strata/plugin/try.hpp>
#include <strata/plugin/types.hpp>

#include <fmt/format.h>

#include <vector>

namespace strata::host {
namespace {

using api::Request;
using api::Response;
using api::http::verb;

constexpr const char* diff_service_uri = "strata.service.v1.diff";

// The request body as an object of `allowed` fields whose "options" object (when given) holds
// only `options`, or InvalidArgument showing the expected shape.
Result<json::object> body_object(const Request& req,
                                 std::initializer_list<std::string_view> allowed,
                                 std::initializer_list<std::string_view> options,
                                 std::string_view shape) {
  STRATA_TRY_ASSIGN(auto body, req.json_body());
  auto o = host::body_object(req, body, allowed, shape);
  if (!o)
    return std::move(o).error();
  if (const auto* opts = (*o)->if_contains("options"); opts && opts->is_object())
    STRATA_TRY(only_fields(opts->get_object(), options, "\"options\"", shape));
  return **o;
}

// Required member `key` of `o`, converted.
template <class T>
Result<T> member(const json::object& o, std::string_view key, std::string_view shape) {
  const auto* v = o.if_contains(key);
  if (!v)
    return invalid_argument(fmt::format("missing \"{}\": expected {}", key, shape));
  return from_json<T>(*v, key);
}

// Optional member `key`: T's defaults when absent or null.
template <class T> Result<T> optional_member(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null())
    return T{};
  return from_json<T>(*v, key);
}

// A differ used directly (differ=ID) whose Meta does not list apply-unknown-lowers: it is refused
// ApplyTarget::UpperdirUnknownLowers as the diff service refuses it (NotImplemented, without a
// call), since it might write the future upperdir as a plain directory and lose whiteouts.
class TargetGate final : public Differ {
public:
  TargetGate(std::shared_ptr<Differ> differ, std::string uri)
      : differ_(std::move(differ)), uri_(std::move(uri)) {}

  Result<Descriptor> apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                           const ApplyOptions& opts) override {
    if (opts.target == ApplyTarget::UpperdirUnknownLowers)
      return not_implemented(fmt::format("{} does not list capability {}, so it is not handed "
                                         "target {}",
                                         uri_, capability::apply_unknown_lowers,
                                         to_string(opts.target)));
    return differ_->apply(desc, mounts, opts);
  }
  Result<Descriptor> compare(const std::vector<Mount>& lower, const std::vector<Mount>& upper,
                             const CompareOptions& opts) override {
    return differ_->compare(lower, upper, opts);
  }

private:
  std::shared_ptr<Differ> differ_;
  std::string uri_;
};

// Runs `fn` with the differ the request names (differ=ID) or the diff service.
Response with_differ(const DifferLookup& lookup, const Request& req,
                     const std::function<Response(Differ&)>& fn) {
  auto id = req.query_param("differ");
  auto differ = lookup(id ? std::string(*id) : std::string());
  if (!differ)
    return Response::error(differ.error());
  return fn(**differ);
}

constexpr std::string_view apply_shape =
    R"({"descriptor": {"mediaType", "digest", "size"}, "mounts": [...], "options"?: {...}})";
constexpr std::string_view compare_shape = R"({"lower": [...], "upper": [...], "options"?: {...}})";

Response apply(const DifferLookup& lookup, const Request& req) {
  auto body = body_object(req, {"descriptor", "mounts", "options"},
                          {"diffID", "target", "syncFs", "processorPayloads"}, apply_shape);
  if (!body)
    return Response::error(body.error());
  auto desc = member<Descriptor>(*body, "descriptor", apply_shape);
  if (!desc)
    return Response::error(desc.error());
  auto mounts = member<std::vector<Mount>>(*body, "mounts", apply_shape);
  if (!mounts)
    return Response::error(mounts.error());
  auto opts = optional_member<ApplyOptions>(*body, "options");
  if (!opts)
    return Response::error(opts.error());
  return with_differ(lookup, req, [&](Differ& d) {
    auto applied = d.apply(*desc, *mounts, *opts);
    if (!applied)
      return Response::error(applied.error());
    return Response::json(json::value_from(*applied));
  });
}

Response compare(const DifferLookup& lookup, const Request& req) {
  auto body = body_object(req, {"lower", "upper", "options"},
                          {"mediaType", "reference", "labels", "sourceDateEpoch"}, compare_shape);
  if (!body)
    return Response::error(body.error());
  auto lower = member<std::vector<Mount>>(*body, "lower", compare_shape);
  if (!lower)
    return Response::error(lower.error());
  auto upper = member<std::vector<Mount>>(*body, "upper", compare_shape);
  if (!upper)
    return Response::error(upper.error());
  auto opts = optional_member<CompareOptions>(*body, "options");
  if (!opts)
    return Response::error(opts.error());
  if (auto st = check_labels(opts->labels, "\"options\".\"labels\""); !st)
    return Response::error(st.error());
  return with_differ(lookup, req, [&](Differ& d) {
    auto written = d.compare(*lower, *upper, *opts);
    if (!written)
      return Response::error(written.error());
    return Response::json(json::value_from(*written), 201);
  });
}

} // namespace

DifferLookup differ_of(const PluginSet& plugins) {
  return [&plugins](const std::string& id) -> Result<std::shared_ptr<Differ>> {
    const std::string uri =
        id.empty() ? std::string(diff_service_uri) : fmt::format("{}.{}", plugin_type::differ, id);
    auto differ = plugins.get_as<Differ>(uri);
    if (differ && !id.empty()) {
      const PluginRecord* record = plugins.find(uri);
      if (!record || !has_capability(record->meta, capability::apply_unknown_lowers))
        return std::shared_ptr<Differ>(std::make_shared<TargetGate>(std::move(*differ), uri));
    }
    if (differ)
      return differ;
    if (differ.error().code() != Code::NotFound)
      return route_error(differ.error());
    if (id.empty())
      return unavailable(
          fmt::format("the diff service {} is not loaded; put strata-service-diff.so "
                      "and a differ (e.g. strata-differ-walking.so) in a plugin "
                      "directory",
                      uri));
    return not_found(fmt::format("differ {} is not loaded; `strata plugins ls` lists the differs "
                                 "(type {})",
                                 uri, plugin_type::differ));
  };
}

void add_diff_routes(api::Router& router, DifferLookup differs) {
  router.add(
      verb::post, "/v1/diff/apply", [differs](const Request& req) { return apply(differs, req); },
      api::streaming::long_running);
  router.add(
      verb::post, "/v1/diff/compare",
      [differs](const Request& req) { return compare(differs, req); },
      api::streaming::long_running);
}

void add_diff_routes(api::Router& router, const PluginSet& plugins) {
  add_diff_routes(router, differ_of(plugins));
}

} // namespace strata::host
