#include "parse.hpp"

#include <strata/digest/sha256.hpp>
#include <strata/plugin/json.hpp>

#include <map>
#include <string_view>

namespace strata::images {
namespace {

// A descriptor from untrusted JSON: fields present, a sha256 digest, a size that is not
// negative.
Result<Descriptor> descriptor(const json::value& v, const std::string& what) {
  if (!v.is_object())
    return invalid_argument(what + " is not a descriptor object");
  auto d = from_json<Descriptor>(v, what);
  if (!d)
    return std::move(d).error();
  if (auto st = digest::validate(d->digest); !st)
    return st.error().wrap(what);
  if (d->size < 0)
    return invalid_argument(what + " has a negative size");
  return d;
}

} // namespace

Result<BlobKind> classify(const std::string& media_type, const std::string& where) {
  namespace mt = media_type;
  static const std::map<std::string, BlobKind, std::less<>> kinds = {
      {mt::oci_index, BlobKind::Index},
      {mt::docker_manifest_list, BlobKind::Index},
      {mt::oci_manifest, BlobKind::Manifest},
      {mt::docker_manifest, BlobKind::Manifest},
      {mt::oci_config, BlobKind::Config},
      {mt::docker_config, BlobKind::Config},
      {mt::layer_tar, BlobKind::Layer},
      {mt::layer_tar_gzip, BlobKind::Layer},
      {mt::layer_tar_zstd, BlobKind::Layer},
      {mt::layer_nondist_tar, BlobKind::Layer},
      {mt::layer_nondist_tar_gzip, BlobKind::Layer},
      {mt::layer_nondist_tar_zstd, BlobKind::Layer},
      {mt::docker_layer, BlobKind::Layer},
      {mt::docker_layer_gzip, BlobKind::Layer},
      {mt::docker_foreign_layer_gzip, BlobKind::Layer},
  };
  if (auto it = kinds.find(media_type); it != kinds.end())
    return it->second;
  return invalid_argument("unknown media type \"" + media_type + "\" of " + where +
                          " (strata imports OCI and Docker schema 2 manifests, indexes, configs " +
                          "and layers)");
}

Result<std::vector<IndexEntry>> parse_index_entries(const std::string& text,
                                                    const std::string& what) {
  auto v = parse_json(text, what);
  if (!v)
    return std::move(v).error();
  const json::value* list = v->is_object() ? v->as_object().if_contains("manifests") : nullptr;
  if (!list || !list->is_array())
    return invalid_argument(what + " has no \"manifests\" array");
  std::vector<IndexEntry> out;
  for (const auto& e : list->as_array()) {
    auto desc = descriptor(e, what + ": manifests[" + std::to_string(out.size()) + "]");
    if (!desc)
      return std::move(desc).error();
    IndexEntry entry{std::move(*desc), std::nullopt};
    if (const auto* p = e.as_object().if_contains("platform"); p && !p->is_null()) {
      auto platform = from_json<Platform>(*p, what + ": platform of " + entry.desc.digest);
      if (!platform)
        return std::move(platform).error();
      entry.platform = std::move(*platform);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Result<ParsedManifest> parse_manifest(const std::string& text, const std::string& what) {
  auto v = parse_json(text, what);
  if (!v)
    return std::move(v).error();
  if (!v->is_object())
    return invalid_argument(what + " is not a JSON object");
  const auto& o = v->as_object();
  const auto* config_json = o.if_contains("config");
  if (!config_json)
    return invalid_argument(what + " has no \"config\"");
  auto config = descriptor(*config_json, what + ": config");
  if (!config)
    return std::move(config).error();
  auto config_kind = classify(config->media_type, "the config of " + what);
  if (!config_kind)
    return std::move(config_kind).error();
  if (*config_kind != BlobKind::Config)
    return invalid_argument("the config of " + what + " has media type " + config->media_type +
                            ", which is not an image config type");
  const auto* layers_json = o.if_contains("layers");
  if (!layers_json || !layers_json->is_array())
    return invalid_argument(what + " has no \"layers\" array");
  std::vector<Descriptor> layers;
  for (const auto& l : layers_json->as_array()) {
    auto layer = descriptor(l, what + ": layers[" + std::to_string(layers.size()) + "]");
    if (!layer)
      return std::move(layer).error();
    auto kind = classify(layer->media_type, "layer " + layer->digest + " of " + what);
    if (!kind)
      return std::move(kind).error();
    if (*kind != BlobKind::Layer)
      return invalid_argument("layer " + layer->digest + " of " + what + " has media type " +
                              layer->media_type + ", which is not a layer type");
    layers.push_back(std::move(*layer));
  }
  return ParsedManifest{std::move(*config), std::move(layers)};
}

Result<ParsedConfig> parse_config(const std::string& bytes, const std::string& cwhat) {
  auto cv = parse_json(bytes, cwhat);
  if (!cv)
    return std::move(cv).error();
  if (!cv->is_object())
    return invalid_argument(cwhat + " is not a JSON object");
  const auto& co = cv->as_object();
  auto text = [&co](std::string_view key) -> std::string {
    const auto* f = co.if_contains(key);
    return f && f->is_string() ? std::string(f->as_string()) : std::string();
  };
  Platform platform{text("os"), text("architecture"), text("variant")};
  const auto* rootfs = co.if_contains("rootfs");
  if (!rootfs || !rootfs->is_object())
    return invalid_argument(cwhat + " has no \"rootfs\" object");
  const auto* type = rootfs->as_object().if_contains("type");
  if (type && !(type->is_string() && (type->as_string() == "layers" || type->as_string().empty())))
    return invalid_argument(cwhat + " has rootfs.type " + json::serialize(*type) +
                            "; only \"layers\" is supported");
  const auto* ids_json = rootfs->as_object().if_contains("diff_ids");
  auto ids = ids_json ? from_json<std::vector<std::string>>(*ids_json, cwhat + ": diff_ids")
                      : Result<std::vector<std::string>>(std::vector<std::string>{});
  if (!ids)
    return std::move(ids).error();
  for (const auto& id : *ids)
    if (auto st = digest::validate(id); !st)
      return st.error().wrap(cwhat + ": rootfs.diff_ids");
  return ParsedConfig{std::move(platform), std::move(*ids)};
}

} // namespace strata::images
