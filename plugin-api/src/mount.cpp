#include "strata/plugin/mount.hpp"

#include "json_fields.hpp"

namespace strata {

void tag_invoke(const json::value_from_tag&, json::value& jv, const Mount& m) {
  jv = {{"type", m.type},
        {"source", m.source},
        {"target", m.target},
        {"options", json::value_from(m.options)}};
}

Mount tag_invoke(const json::value_to_tag<Mount>&, const json::value& jv) {
  Mount m;
  m.type = detail::field<std::string>(jv, "type");
  m.source = detail::field_or<std::string>(jv, "source", "");
  m.target = detail::field_or<std::string>(jv, "target", "");
  m.options = detail::field_or<std::vector<std::string>>(jv, "options", {});
  return m;
}

} // namespace strata
