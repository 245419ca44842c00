#include "strata/plugin/meta.hpp"

#include "json_fields.hpp"

namespace strata {

void tag_invoke(const json::value_from_tag&, json::value& jv, const Meta& m) {
  jv = {{"platforms", json::value_from(m.platforms)},
        {"exports", json::value_from(m.exports)},
        {"capabilities", json::value_from(m.capabilities)}};
}

Meta tag_invoke(const json::value_to_tag<Meta>&, const json::value& jv) {
  Meta m;
  m.platforms = detail::field_or<std::vector<Platform>>(jv, "platforms", {});
  m.exports = detail::field_or<std::map<std::string, std::string>>(jv, "exports", {});
  m.capabilities = detail::field_or<std::vector<std::string>>(jv, "capabilities", {});
  return m;
}

} // namespace strata
