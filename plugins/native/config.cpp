#include "config.hpp"

namespace strata::native {
namespace {

constexpr const char* kSection = "[plugins.\"strata.snapshotter.v1.native\"]";

Error bad_value(std::string_view key, const json::value& v, std::string_view want) {
  return invalid_argument(std::string(kSection) + ": " + std::string(key) + " = " +
                          json::serialize(v) + ": must be " + std::string(want));
}

} // namespace

Result<Config> decode(const json::object& section) {
  Config c;
  for (const auto& [key, value] : section) {
    if (key == "xattr_errors") {
      if (!value.is_string() || (value.as_string() != "warn" && value.as_string() != "fail"))
        return bad_value(key, value, "\"warn\" or \"fail\"");
      c.xattr_errors_fail = value.as_string() == "fail";
    } else if (key == "sync_remove") {
      if (!value.is_bool())
        return bad_value(key, value, "true or false");
      c.sync_remove = value.as_bool();
    } else {
      return invalid_argument(std::string(kSection) + ": unknown key \"" + std::string(key) +
                              "\" (known: xattr_errors, sync_remove)");
    }
  }
  return c;
}

} // namespace strata::native
