#pragma once
// A plugin's effective section: its declared defaults with the operator's values laid over them.

#include "config/config.hpp"

namespace strata::host::config_detail {

/// What plugin_config() returns, still as TOML so that dump_config() can print it. An empty
/// table when the plugin takes no configuration and none was given.
Result<toml::table> effective_section(const Config& cfg, const std::string& uri,
                                      const std::string& defaults_toml);

} // namespace strata::host::config_detail
