#include "strata/plugin/descriptor.hpp"

#include "json_fields.hpp"

namespace strata {

void tag_invoke(const json::value_from_tag&, json::value& jv, const Descriptor& d) {
  json::object o{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty())
    o["annotations"] = json::value_from(d.annotations);
  jv = std::move(o);
}

Descriptor tag_invoke(const json::value_to_tag<Descriptor>&, const json::value& jv) {
  Descriptor d;
  d.media_type = detail::field<std::string>(jv, "mediaType");
  d.digest = detail::field<std::string>(jv, "digest");
  d.size = detail::field<std::int64_t>(jv, "size");
  d.annotations = detail::field_or<std::map<std::string, std::string>>(jv, "annotations", {});
  return d;
}

} // namespace strata
