#include "config.hpp"

#include <algorithm>

namespace strata::diffservice {

namespace {

constexpr std::string_view differ_prefix = "strata.differ.v1.";

Error bad_entry(const std::string& why) {
  return invalid_argument("diff service: default " + why +
                          " in [plugins.\"strata.service.v1.diff\"]");
}

} // namespace

Result<Config> decode(const json::object& section) {
  Config c;
  if (const auto* v = section.if_contains("sync_fs"))
    c.sync_fs = v->is_bool() && v->as_bool();
  const auto* list = section.if_contains("default");
  if (!list || !list->is_array() || list->as_array().empty())
    return bad_entry("is empty: list the differ ids to try in order, e.g. default = "
                     "[\"walking\"]");
  for (const auto& e : list->as_array()) {
    if (!e.is_string())
      return bad_entry("holds " + json::serialize(e) + ": entries are differ ids (strings)");
    std::string id(e.as_string());
    if (id.empty())
      return bad_entry("holds an empty string: entries are differ ids such as \"walking\"");
    // An easy slip: the URI is what the rest of the config uses to name plugins.
    if (id.starts_with(differ_prefix) && id.size() > differ_prefix.size())
      return bad_entry("entry \"" + id + "\" is a plugin URI: write the differ id \"" +
                       id.substr(differ_prefix.size()) + "\"");
    if (std::find(c.order.begin(), c.order.end(), id) != c.order.end())
      return bad_entry("lists \"" + id + "\" twice: each differ is tried once");
    c.order.push_back(std::move(id));
  }
  return c;
}

} // namespace strata::diffservice
