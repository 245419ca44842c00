#include "routes/content_routes.hpp"
#include "routes/json_body.hpp"
#include "routes/walk_response.hpp"

#include <strata/contentio/blob_source.hpp>
#include <strata/contentio/ingest.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/fs/posix.hpp>
#include <strata/plugin/try.hpp>
#include <strata/plugin/types.hpp>

#include <fmt/format.h>

#include <charconv>

namespace strata::host {
namespace {

using api::Request;
using api::Response;
using api::http::verb;

// A non-negative integer query parameter; nullopt when absent.
Result<std::optional<std::int64_t>> int_param(const Request& req, std::string_view name) {
  auto text = req.query_param(name);
  if (!text)
    return std::optional<std::int64_t>{};
  std::int64_t value = -1;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || value < 0)
    return invalid_argument(fmt::format("query parameter {}=\"{}\" must be a non-negative "
                                        "integer (bytes)",
                                        name, *text));
  return std::optional<std::int64_t>(value);
}

// label=k=v parameters; "k=" is allowed and means no label (stores never keep empty values).
Result<Labels> label_params(const Request& req) {
  Labels labels;
  for (auto text : req.query_params("label")) {
    auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return invalid_argument(fmt::format("query parameter label=\"{}\" must be KEY=VALUE", text));
    labels[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
  }
  return labels;
}

Result<std::string> checked_digest(std::string_view digest) {
  STRATA_TRY(digest::validate(digest));
  return std::string(digest);
}

// The request body on its way into the store: hashed as it passes, so the blob's digest is
// known without the client naming it, and whether the store had that blob already is checked
// at the last moment before the commit.
struct HashingSource {
  ContentStore& store;
  const contentio::Source& body;
  digest::Sha256 hash;
  std::optional<std::string> digest; // set once the body ended
  bool existed = false;

  Result<std::size_t> operator()(std::span<std::byte> buf) {
    auto n = body(buf);
    if (!n)
      return n;
    if (*n > buf.size())
      return n; // ingest() refuses it as DataLoss
    if (*n > 0) {
      hash.update(buf.first(*n));
    } else if (!digest) {
      digest = hash.finish();
      existed = store.info(*digest).ok();
    }
    return n;
  }
};

Response ingest(ContentStore& store, const Request& req, std::string_view path_digest) {
  Descriptor expected;
  auto query_digest = req.query_param("digest");
  if (!path_digest.empty() && query_digest && *query_digest != path_digest)
    return Response::error(invalid_argument(
        fmt::format("the path names blob {} but the query says digest={}; give one of them",
                    path_digest, *query_digest)));
  if (auto d = !path_digest.empty() ? path_digest : query_digest.value_or(""); !d.empty()) {
    auto checked = checked_digest(d);
    if (!checked)
      return Response::error(checked.error());
    expected.digest = std::move(*checked);
  }
  auto size = int_param(req, "size");
  if (!size)
    return Response::error(size.error());
  expected.size = size->value_or(0);
  auto labels = label_params(req);
  if (!labels)
    return Response::error(labels.error());
  std::string ref(req.query_param("ref").value_or(""));
  if (ref.empty()) {
    auto id = fs::random_hex(16);
    if (!id)
      return Response::error(id.error());
    ref = "api-ingest-" + *id;
  }

  // A blob that is there already is not uploaded again: the answer comes before its body.
  if (!expected.digest.empty()) {
    if (auto info = store.info(expected.digest); info) {
      if (*size && info->size != **size)
        return Response::error(failed_precondition(
            fmt::format("blob {} exists with size {}, not the {} given in size=", info->digest,
                        info->size, **size)));
      return Response::json(json::value_from(*info), 200);
    }
  }

  HashingSource source{store, req.body_source, {}, {}, false};
  contentio::Source pull = [&source](std::span<std::byte> buf) { return source(buf); };
  if (auto st = contentio::ingest(store, ref, expected, pull, *labels); !st)
    return Response::error(st.error());
  // ingest() skips the body when a concurrent upload committed the expected blob first.
  const std::string digest = source.digest.value_or(expected.digest);
  auto info = store.info(digest);
  if (!info)
    return Response::error(info.error().wrap("the blob was committed but reading it back failed"));
  return Response::json(json::value_from(*info), source.digest && !source.existed ? 201 : 200);
}

// The blob from `offset` on, to stream a partial download with the usual read checks.
class OffsetReader final : public ReaderAt {
public:
  OffsetReader(std::shared_ptr<ReaderAt> inner, std::int64_t offset)
      : inner_(std::move(inner)), offset_(offset) {}
  std::int64_t size() const override { return inner_->size() - offset_; }
  Result<std::size_t> read_at(std::span<std::byte> buf, std::int64_t offset) override {
    return inner_->read_at(buf, offset + offset_);
  }

private:
  std::shared_ptr<ReaderAt> inner_;
  std::int64_t offset_;
};

Response download(ContentStore& store, const Request& req) {
  auto digest = std::string(req.param("digest"));
  auto offset = int_param(req, "offset");
  if (!offset)
    return Response::error(offset.error());
  auto reader = store.reader(digest);
  if (!reader)
    return Response::error(reader.error());
  const std::int64_t size = (*reader)->size();
  const std::int64_t skip = offset->value_or(0);
  if (skip > size)
    return Response::error(
        Error(Code::OutOfRange, fmt::format("offset {} is beyond the end of blob {} ({} bytes)",
                                            skip, digest, size)));
  // A whole blob is verified against its digest as it goes out: a corrupted file ends the
  // response short instead of being delivered as the blob.
  auto source =
      skip == 0 ? contentio::blob_source(std::move(*reader), digest, true)
                : contentio::blob_source(std::make_shared<OffsetReader>(std::move(*reader), skip),
                                         fmt::format("{} from offset {}", digest, skip), false);
  auto res = Response::streamed(std::move(source), static_cast<std::uint64_t>(size - skip));
  res.headers.emplace_back("Docker-Content-Digest", digest);
  return res;
}

Response list(ContentStore& store, const Request& req) {
  return walk_response(store, req);
}

Response update_labels(ContentStore& store, const Request& req) {
  auto body = req.json_body();
  if (!body)
    return Response::error(body.error());
  auto obj = body_object(req, *body, {"labels", "fieldpaths"},
                         R"({"labels": {...}, "fieldpaths"?: [...]})");
  if (!obj)
    return Response::error(obj.error());
  const auto& o = **obj;
  ContentInfo info;
  info.digest = std::string(req.param("digest"));
  std::vector<std::string> fieldpaths;
  auto labels = labels_field(o);
  if (!labels)
    return Response::error(labels.error());
  info.labels = std::move(*labels);
  if (const auto* f = o.if_contains("fieldpaths")) {
    auto paths = from_json<std::vector<std::string>>(*f, "fieldpaths");
    if (!paths)
      return Response::error(paths.error());
    fieldpaths = std::move(*paths);
  } else {
    // A PATCH changes what it names: each label given, set or (empty value) removed.
    for (const auto& [key, value] : info.labels)
      fieldpaths.push_back("labels." + key);
  }
  if (fieldpaths.empty())
    return Response::error(
        invalid_argument("nothing to update: give \"labels\" (an empty value removes a label), or "
                         "\"fieldpaths\": [\"labels\"] with no labels to remove them all"));
  return Response::from([&]() -> Result<json::value> {
    STRATA_TRY_ASSIGN(auto updated, store.update(info, fieldpaths));
    return json::value_from(updated);
  }());
}

// Wraps a handler so that it runs with the store, or answers 503 when there is none.
api::Handler with_store(ContentStoreLookup lookup,
                        std::function<Response(ContentStore&, const Request&)> fn) {
  return [lookup = std::move(lookup), fn = std::move(fn)](const Request& req) {
    auto store = lookup();
    if (!store)
      return Response::error(store.error());
    return fn(**store, req);
  };
}

} // namespace

ContentStoreLookup content_store_of(const PluginSet& plugins) {
  return [&plugins]() -> Result<std::shared_ptr<ContentStore>> {
    std::string why;
    // The first content plugin that serves; otherwise the first one's reason.
    for (const auto& uri : plugins.uris_of(plugin_type::content)) {
      auto store = plugins.get_as<ContentStore>(uri);
      if (store)
        return store;
      if (why.empty())
        why = store.error().message();
    }
    if (why.empty())
      why = fmt::format("no plugin of type {} is loaded; put the content plugin "
                        "(strata-content-content.so) in a plugin directory",
                        plugin_type::content);
    return unavailable(
        fmt::format("no content store is available: {} (see `strata plugins ls`)", why));
  };
}

void add_content_routes(api::Router& router, ContentStoreLookup store) {
  router.add(verb::get, "/v1/content", with_store(store, list));
  auto upload = [](ContentStore& s, const Request& req) { return ingest(s, req, {}); };
  router.add(verb::post, "/v1/content", with_store(store, upload), api::streaming::upload);
  auto put = [](ContentStore& s, const Request& req) {
    return ingest(s, req, req.param("digest"));
  };
  router.add(verb::put, "/v1/content/{digest}", with_store(store, put), api::streaming::upload);
  router.add(verb::get, "/v1/content/{digest}", with_store(store, download),
             api::streaming::download);
  router.add(verb::get, "/v1/content/{digest}/info",
             with_store(store, [](ContentStore& s, const Request& req) {
               return Response::from([&]() -> Result<json::value> {
                 STRATA_TRY_ASSIGN(auto info, s.info(std::string(req.param("digest"))));
                 return json::value_from(info);
               }());
             }));
  router.add(verb::patch, "/v1/content/{digest}", with_store(store, update_labels));
  router.add(verb::delete_, "/v1/content/{digest}",
             with_store(store, [](ContentStore& s, const Request& req) {
               if (auto st = s.remove(std::string(req.param("digest"))); !st)
                 return Response::error(st.error());
               return Response::json(nullptr, 204);
             }));
}

void add_content_routes(api::Router& router, const PluginSet& plugins) {
  add_content_routes(router, content_store_of(plugins));
}

} // namespace strata::host
