#include "strata/plugin/images.hpp"

#include "json_fields.hpp"

namespace strata {

void tag_invoke(const json::value_from_tag&, json::value& jv, const ImageManifest& m) {
  jv = json::object{
      {"platform", json::value_from(m.platform)}, {"manifest", json::value_from(m.manifest)},
      {"config", json::value_from(m.config)},     {"layers", json::value_from(m.layers)},
      {"diffIds", json::value_from(m.diff_ids)},  {"chainIds", json::value_from(m.chain_ids)}};
}

ImageManifest tag_invoke(const json::value_to_tag<ImageManifest>&, const json::value& jv) {
  ImageManifest m;
  m.platform = detail::field<Platform>(jv, "platform");
  m.manifest = detail::field<Descriptor>(jv, "manifest");
  m.config = detail::field<Descriptor>(jv, "config");
  m.layers = detail::field_or<std::vector<Descriptor>>(jv, "layers", {});
  m.diff_ids = detail::field_or<std::vector<std::string>>(jv, "diffIds", {});
  m.chain_ids = detail::field_or<std::vector<std::string>>(jv, "chainIds", {});
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

const char* to_string(UnpackProgress::State s) noexcept {
  switch (s) {
  case UnpackProgress::State::Exists:
    return "exists";
  case UnpackProgress::State::Applying:
    return "applying";
  case UnpackProgress::State::Applied:
    return "applied";
  case UnpackProgress::State::Committed:
    return "committed";
  }
  return "unknown";
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const UnpackProgress& p) {
  jv = json::object{
      {"layer", p.layer}, {"state", to_string(p.state)}, {"bytes", p.bytes}, {"size", p.size}};
}

UnpackProgress tag_invoke(const json::value_to_tag<UnpackProgress>&, const json::value& jv) {
  UnpackProgress p;
  p.layer = detail::field<std::size_t>(jv, "layer");
  const auto state = detail::field<std::string>(jv, "state");
  using S = UnpackProgress::State;
  bool known = false;
  for (S s : {S::Exists, S::Applying, S::Applied, S::Committed})
    if (state == to_string(s)) {
      p.state = s;
      known = true;
    }
  if (!known)
    throw std::invalid_argument("unknown unpack state \"" + state + "\"");
  p.bytes = detail::field_or<std::uint64_t>(jv, "bytes", 0);
  p.size = detail::field_or<std::uint64_t>(jv, "size", 0);
  return p;
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const UnpackedLayer& l) {
  jv = json::object{{"layer", json::value_from(l.layer)},
                    {"diffId", l.diff_id},
                    {"chainId", l.chain_id},
                    {"applied", l.applied}};
}

UnpackedLayer tag_invoke(const json::value_to_tag<UnpackedLayer>&, const json::value& jv) {
  UnpackedLayer l;
  l.layer = detail::field<Descriptor>(jv, "layer");
  l.diff_id = detail::field<std::string>(jv, "diffId");
  l.chain_id = detail::field<std::string>(jv, "chainId");
  l.applied = detail::field_or<bool>(jv, "applied", false);
  return l;
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const UnpackResult& r) {
  jv = json::object{{"image", r.image},       {"snapshotter", r.snapshotter},
                    {"chainId", r.chain_id},  {"layers", json::value_from(r.layers)},
                    {"parallel", r.parallel}, {"syncFs", r.sync_fs},
                    {"seconds", r.seconds}};
}

UnpackResult tag_invoke(const json::value_to_tag<UnpackResult>&, const json::value& jv) {
  UnpackResult r;
  r.image = detail::field<std::string>(jv, "image");
  r.snapshotter = detail::field<std::string>(jv, "snapshotter");
  r.chain_id = detail::field<std::string>(jv, "chainId");
  r.layers = detail::field_or<std::vector<UnpackedLayer>>(jv, "layers", {});
  r.parallel = detail::field_or<bool>(jv, "parallel", false);
  r.sync_fs = detail::field_or<bool>(jv, "syncFs", false);
  r.seconds = detail::field_or<double>(jv, "seconds", 0.0);
  return r;
}

} // namespace strata
