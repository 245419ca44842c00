#include "strata/config/section.hpp"

namespace strata::config {

Section::Section(std::string_view uri) : name_("[plugins.\"" + std::string(uri) + "\"]") {}

Error Section::bad_value(std::string_view key, const json::value& value,
                         std::string_view want) const {
  return invalid_argument(name_ + ": " + std::string(key) + " = " + json::serialize(value) +
                          ": must be " + std::string(want));
}

Error Section::unknown_key(std::string_view key, std::string_view known) const {
  return invalid_argument(name_ + ": unknown key \"" + std::string(key) +
                          "\" (known: " + std::string(known) + ")");
}

} // namespace strata::config
