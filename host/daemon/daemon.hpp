#pragma once
// stratad's top level: what the command line asks for, and running the daemon.

#include "config/config.hpp"

#include <optional>
#include <string>
#include <vector>

namespace strata::host {

/// Command-line overrides; each replaces the config file's value when set.
struct DaemonOptions {
  std::optional<std::string> config_path;
  std::optional<std::string> root;
  std::optional<std::string> state;
  std::optional<std::string> address;
  std::vector<std::string> plugin_dirs;    ///< replaces plugin_dirs when non-empty
  double plugin_init_timeout_seconds = 60; ///< a plugin whose init takes longer is an error
};

/// Loads the config and applies the overrides (relative override paths are made absolute
/// against the current directory, since they were typed by the operator right here).
Result<Config> effective_config(const DaemonOptions& options);

/// Runs stratad until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean stop,
/// 1 when the config is bad, a required plugin is not ok, or the API cannot be served.
int run_daemon(const DaemonOptions& options);

/// `stratad config default`: the embedded defaults plus every plugin's default section.
int config_default(const DaemonOptions& options);
/// `stratad config dump`: the effective config after merging.
int config_dump(const DaemonOptions& options);
/// `stratad config check`: validates the config and every plugin section; 0 when all is well.
int config_check(const DaemonOptions& options);

} // namespace strata::host
