#include "routes/snapshot_routes.hpp"
#include "routes/json_body.hpp"
#include "routes/walk_response.hpp"

#include <strata/plugin/try.hpp>
#include <strata/plugin/types.hpp>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace strata::host {
namespace {

using api::Request;
using api::Response;
using api::http::verb;

// The snapshot key the path names, under the same rule as keys that are created, so every key
// that can be created can be named and none that cannot is looked up.
Result<std::string> path_key(const Request& req) {
  auto key = std::string(req.param("key"));
  STRATA_TRY(check_snapshot_key(key, "the snapshot key in the path"));
  return key;
}

// Optional field `name` of `o` naming a snapshot: empty when absent, else under the key rule.
Result<std::string> key_field(const json::object& o, std::string_view name) {
  auto key = optional_field<std::string>(o, name);
  if (!key || key->empty())
    return key;
  if (auto st = check_snapshot_key(*key, fmt::format("\"{}\"", name)); !st)
    return std::move(st).error();
  return key;
}

Response mounts_response(const Result<std::vector<Mount>>& mounts, int status) {
  if (!mounts)
    return Response::error(mounts.error());
  return Response::json(json::value_from(*mounts), status);
}

Response info_response(Result<Info> info, int status = 200) {
  if (!info)
    return Response::error(info.error());
  return Response::json(json::value_from(*info), status);
}

Response list(Snapshotter& sn, const Request& req) {
  return walk_response(sn, req);
}

Response create(Snapshotter& sn, const Request& req) {
  static constexpr std::string_view shape =
      R"({"key": "...", "parent"?: "...", "labels"?: {...}, "kind"?: "active"|"view"})";
  auto body = req.json_body();
  if (!body)
    return Response::error(body.error());
  auto o = body_object(req, *body, {"key", "parent", "labels", "kind"}, shape);
  if (!o)
    return Response::error(o.error());
  auto key = key_field(**o, "key");
  if (!key)
    return Response::error(key.error());
  if (key->empty())
    return Response::error(invalid_argument(fmt::format("\"key\" is missing or empty; {} "
                                                        "expects {}",
                                                        req.path, shape)));
  auto parent = key_field(**o, "parent");
  if (!parent)
    return Response::error(parent.error());
  SnapshotOptions opts;
  auto labels = labels_field(**o);
  if (!labels)
    return Response::error(labels.error());
  opts.labels = std::move(*labels);
  auto kind_text = optional_field<std::string>(**o, "kind", "active");
  if (!kind_text)
    return Response::error(kind_text.error());
  auto kind = parse_kind(*kind_text);
  if (kind != Kind::Active && kind != Kind::View)
    return Response::error(invalid_argument(fmt::format(
        "\"kind\": \"{}\" cannot be created; give \"active\" (prepare) or \"view\"", *kind_text)));
  return mounts_response(
      kind == Kind::View ? sn.view(*key, *parent, opts) : sn.prepare(*key, *parent, opts), 201);
}

Response commit(Snapshotter& sn, const Request& req) {
  static constexpr std::string_view shape =
      R"({"name": "...", "labels"?: {...}, "parent"?: "..."})";
  auto body = req.json_body();
  if (!body)
    return Response::error(body.error());
  auto o = body_object(req, *body, {"name", "labels", "parent"}, shape);
  if (!o)
    return Response::error(o.error());
  auto key = path_key(req);
  if (!key)
    return Response::error(key.error());
  auto name = key_field(**o, "name");
  if (!name)
    return Response::error(name.error());
  if (name->empty())
    return Response::error(invalid_argument(
        fmt::format("\"name\" is missing or empty; {} expects {}", req.path, shape)));
  SnapshotOptions opts;
  auto labels = labels_field(**o);
  if (!labels)
    return Response::error(labels.error());
  opts.labels = std::move(*labels);
  auto parent = key_field(**o, "parent");
  if (!parent)
    return Response::error(parent.error());
  opts.parent = std::move(*parent);
  if (auto st = sn.commit(*name, *key, opts); !st)
    return Response::error(st.error());
  auto info = sn.stat(*name);
  if (!info)
    return Response::error(info.error().wrap("the snapshot was committed but reading it back "
                                             "failed"));
  return info_response(std::move(info), 201);
}

Response update_labels(Snapshotter& sn, const Request& req) {
  static constexpr std::string_view shape = R"({"labels": {...}, "fieldpaths"?: [...]})";
  auto body = req.json_body();
  if (!body)
    return Response::error(body.error());
  auto o = body_object(req, *body, {"labels", "fieldpaths"}, shape);
  if (!o)
    return Response::error(o.error());
  auto key = path_key(req);
  if (!key)
    return Response::error(key.error());
  Info info;
  info.name = std::move(*key);
  auto labels = labels_field(**o);
  if (!labels)
    return Response::error(labels.error());
  info.labels = std::move(*labels);
  std::vector<std::string> fieldpaths;
  if ((*o)->contains("fieldpaths")) {
    auto paths = optional_field<std::vector<std::string>>(**o, "fieldpaths");
    if (!paths)
      return Response::error(paths.error());
    fieldpaths = std::move(*paths);
  } else {
    // A PATCH changes what it names: each label given, set or (empty value) removed. The
    // snapshotter's own no-fieldpaths default (replace the whole map) is what "fieldpaths":
    // ["labels"] asks for.
    for (const auto& [k, v] : info.labels)
      fieldpaths.push_back("labels." + k);
  }
  if (fieldpaths.empty())
    return Response::error(
        invalid_argument("nothing to update: give \"labels\" (an empty value removes a label), or "
                         "\"fieldpaths\": [\"labels\"] with no labels to remove them all"));
  return info_response(sn.update(info, fieldpaths));
}

// Finds snapshotter `name` in the catalog: NotFound naming those there are, Unavailable with
// the plugin's reason when it is not ok.
Result<std::shared_ptr<Snapshotter>> find(const SnapshotterCatalog& catalog,
                                          std::string_view name) {
  auto entries = catalog();
  std::vector<std::string> known;
  for (auto& e : entries) {
    if (e.record.id == name) {
      if (e.record.status == PluginStatus::Ok && e.instance)
        return std::move(e.instance);
      return unavailable(fmt::format(
          "snapshotter {} is {}: {} (see `strata plugins ls`)", name, to_string(e.record.status),
          e.record.reason.empty() ? "no reason given" : e.record.reason));
    }
    known.push_back(fmt::format("{} ({})", e.record.id, to_string(e.record.status)));
  }
  if (known.empty())
    return not_found(fmt::format("no snapshotter \"{}\": no plugin of type {} is loaded; put "
                                 "one (e.g. strata-snapshotter-overlayfs.so) in a plugin "
                                 "directory",
                                 name, plugin_type::snapshotter));
  return not_found(
      fmt::format("no snapshotter \"{}\"; there are: {}", name, fmt::join(known, ", ")));
}

// Wraps a handler so that it runs with the snapshotter named in the path, or answers 404/503.
api::Handler with_snapshotter(SnapshotterCatalog catalog,
                              std::function<Response(Snapshotter&, const Request&)> fn) {
  return [catalog = std::move(catalog), fn = std::move(fn)](const Request& req) {
    auto sn = find(catalog, req.param("name"));
    if (!sn)
      return Response::error(sn.error());
    return fn(**sn, req);
  };
}

} // namespace

SnapshotterCatalog snapshotters_of(const PluginSet& plugins) {
  // The set is complete before the server starts and never changes afterwards, so handlers on
  // several threads may read it without a lock.
  return [&plugins]() {
    std::vector<SnapshotterEntry> out;
    for (const auto& uri : plugins.uris_of(plugin_type::snapshotter)) {
      SnapshotterEntry e{*plugins.find(uri), nullptr};
      if (e.record.status == PluginStatus::Ok) {
        auto sn = plugins.get_as<Snapshotter>(uri);
        if (sn) {
          e.instance = std::move(*sn);
        } else {
          e.record.status = PluginStatus::Error;
          e.record.reason = sn.error().message();
        }
      }
      out.push_back(std::move(e));
    }
    return out;
  };
}

void add_snapshot_routes(api::Router& router, SnapshotterCatalog catalog) {
  router.add(verb::get, "/v1/snapshotters", [catalog](const Request&) {
    json::array out;
    for (const auto& e : catalog()) {
      json::object o{{"name", e.record.id}, {"status", to_string(e.record.status)}};
      if (!e.record.reason.empty())
        o["reason"] = e.record.reason;
      o["capabilities"] = json::value_from(e.record.meta.capabilities);
      out.push_back(std::move(o));
    }
    return Response::json(std::move(out));
  });

  const std::string base = "/v1/snapshotters/{name}/snapshots";
  const std::string one = base + "/{key}";
  // The routes on one snapshot: `fn` gets the key from the path, checked by path_key().
  auto on_key = [catalog](std::function<Response(Snapshotter&, const std::string&)> fn) {
    return with_snapshotter(catalog, [fn = std::move(fn)](Snapshotter& sn, const Request& req) {
      auto key = path_key(req);
      if (!key)
        return Response::error(key.error());
      return fn(sn, *key);
    });
  };

  router.add(verb::get, base, with_snapshotter(catalog, list));
  router.add(verb::post, base, with_snapshotter(catalog, create));
  router.add(verb::get, one, on_key([](Snapshotter& sn, const std::string& key) {
               return info_response(sn.stat(key));
             }));
  router.add(verb::patch, one, with_snapshotter(catalog, update_labels));
  router.add(verb::delete_, one, on_key([](Snapshotter& sn, const std::string& key) {
               if (auto st = sn.remove(key); !st)
                 return Response::error(st.error());
               return Response::json(nullptr, 204);
             }));
  router.add(verb::get, one + "/mounts", on_key([](Snapshotter& sn, const std::string& key) {
               return mounts_response(sn.mounts(key), 200);
             }));
  router.add(verb::get, one + "/usage", on_key([](Snapshotter& sn, const std::string& key) {
               auto usage = sn.usage(key);
               if (!usage)
                 return Response::error(usage.error());
               return Response::json(json::value_from(*usage));
             }));
  router.add(verb::post, one + "/commit", with_snapshotter(catalog, commit));
  router.add(verb::post, "/v1/snapshotters/{name}/cleanup",
             with_snapshotter(catalog, [](Snapshotter& sn, const Request&) {
               if (auto st = sn.cleanup(); !st)
                 return Response::error(st.error());
               return Response::json(nullptr, 204);
             }));
}

void add_snapshot_routes(api::Router& router, const PluginSet& plugins) {
  add_snapshot_routes(router, snapshotters_of(plugins));
}

} // namespace strata::host
