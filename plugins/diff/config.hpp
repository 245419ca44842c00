#pragma once
// The diff service's configuration, decoded once at init from [plugins."strata.service.v1.diff"].

#include <strata/plugin/json.hpp>

#include <string>
#include <vector>

namespace strata::diffservice {

/// TOML defaults of [plugins."strata.service.v1.diff"]; the host checks keys and types (an
/// array of strings for `default`) against them, so decode() only has to check values.
inline constexpr const char* default_config =
    R"(# Differ ids, tried in this order; the next one is tried only when one returns NotImplemented.
default = ["walking"]
# syncfs(2) after every apply even when the caller did not ask for it.
sync_fs = false
)";

struct Config {
  std::vector<std::string> order; ///< differ ids, as configured
  bool sync_fs = false;
};

/// Decodes the effective section.
/// Errors: InvalidArgument for an empty `default`, an empty or duplicate entry, or an entry that
/// is a plugin URI instead of a differ id; the message names the entry and the fix.
Result<Config> decode(const json::object& section);

} // namespace strata::diffservice
