#include "strata/plugin/images.hpp"

#include "json_fields.hpp"

namespace strata {

void tag_invoke(const json::value_from_tag&, json::value& jv, const ImageManifest& m) {
  jv = json::object{{"platform", json::value_from(m.platform)},
                    {"manifest", json::value_from(m.manifest)},
                    {"config", json::value_from(m.config)},
                    {"layers", json::value_from(m.layers)},
                    {"diffIds", json::value_from(m.diff_ids)}};
}

ImageManifest tag_invoke(const json::value_to_tag<ImageManifest>&, const json::value& jv) {
  ImageManifest m;
  m.platform = detail::field<Platform>(jv, "platform");
  m.manifest = detail::field<Descriptor>(jv, "manifest");
  m.config = detail::field<Descriptor>(jv, "config");
  m.layers = detail::field_or<std::vector<Descriptor>>(jv, "layers", {});
  m.diff_ids = detail::field_or<std::vector<std::string>>(jv, "diffIds", {});
  return m;
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const Image& i) {
  json::object o{{"name", i.name},
                 {"target", json::value_from(i.target)},
                 {"created", format_time(i.created)},
                 {"updated", format_time(i.updated)}};
  if (!i.labels.empty())
    o["labels"] = json::value_from(i.labels);
  o["resolved"] = json::value_from(i.resolved);
  jv = std::move(o);
}

Image tag_invoke(const json::value_to_tag<Image>&, const json::value& jv) {
  Image i;
  i.name = detail::field<std::string>(jv, "name");
  i.target = detail::field<Descriptor>(jv, "target");
  i.created = parse_time(detail::field_or<std::string>(jv, "created", "")).value_or(Timestamp{});
  i.updated = parse_time(detail::field_or<std::string>(jv, "updated", "")).value_or(Timestamp{});
  i.labels = detail::field_or<Labels>(jv, "labels", {});
  i.resolved = detail::field<ImageManifest>(jv, "resolved");
  return i;
}

} // namespace strata
