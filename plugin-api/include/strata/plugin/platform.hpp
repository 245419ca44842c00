#pragma once
/// \file
/// OCI platform (os/architecture/variant).

#include "strata/plugin/json.hpp"

#include <string>

namespace strata {

/// A platform a plugin supports or an image is built for.
struct Platform {
  std::string os;           ///< "linux", "windows", ...
  std::string architecture; ///< "amd64", "arm64", ...
  std::string variant;      ///< "v8", ...; empty when none
  bool operator==(const Platform&) const = default;
  /// "os/arch[/variant]".
  std::string to_string() const;
  /// The platform this code was compiled for, e.g. linux/amd64.
  static Platform host();
};

/// Parses "os/arch[/variant]"; anything else is InvalidArgument.
Result<Platform> parse_platform(std::string_view text);

/// JSON: {"os","architecture","variant"?} (OCI field names).
void tag_invoke(const json::value_from_tag&, json::value& jv, const Platform& p);
Platform tag_invoke(const json::value_to_tag<Platform>&, const json::value& jv);

} // namespace strata
