#include "config.hpp"

#include <strata/config/section.hpp>

namespace strata::native {
namespace {

const config::Section kSection("strata.snapshotter.v1.native");

} // namespace

Result<Config> decode(const json::object& section) {
  Config c;
  for (const auto& [key, value] : section) {
    if (key == "xattr_errors") {
      if (!value.is_string() || (value.as_string() != "warn" && value.as_string() != "fail"))
        return kSection.bad_value(key, value, "\"warn\" or \"fail\"");
      c.xattr_errors_fail = value.as_string() == "fail";
    } else if (key == "sync_remove") {
      if (!value.is_bool())
        return kSection.bad_value(key, value, "true or false");
      c.sync_remove = value.as_bool();
    } else {
      return kSection.unknown_key(key, "xattr_errors, sync_remove");
    }
  }
  return c;
}

} // namespace strata::native
