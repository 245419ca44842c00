#pragma once
/// \file
/// Meta: what an initialised plugin tells the host and clients about itself.

#include "strata/plugin/platform.hpp"

#include <map>
#include <string>
#include <vector>

namespace strata {

/// Filled by a plugin's init through InitContext::meta().
struct Meta {
  std::vector<Platform> platforms;            ///< platforms served; empty means "any"
  std::map<std::string, std::string> exports; ///< e.g. {"root": "/var/lib/strata/..."}
  std::vector<std::string> capabilities;      ///< e.g. "rebase", "remap-ids"
  bool operator==(const Meta&) const = default;
};

/// JSON: {"platforms":[...],"exports":{...},"capabilities":[...]}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const Meta& m);
Meta tag_invoke(const json::value_to_tag<Meta>&, const json::value& jv);

} // namespace strata
