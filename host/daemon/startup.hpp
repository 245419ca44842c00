#pragma once
// Loading and initialising every plugin for a config: shared by the daemon and the config
// commands (which need the registrations for plugin defaults).

#include "config/config.hpp"
#include "daemon/plugin_set.hpp"
#include "loader/loader.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <vector>

namespace strata::host {

/// Loads every plugin file of cfg.plugin_dirs into the registry singleton.
std::vector<FileOutcome> load_plugins(const Config& cfg);

/// (uri, config defaults TOML) of every registration, in registration order.
std::vector<std::pair<std::string, std::string>> plugin_defaults();

/// Orders the registered plugins and initialises them into `set`.
void initialise_plugins(const Config& cfg, const std::vector<FileOutcome>& outcomes,
                        std::chrono::milliseconds init_timeout, std::function<bool()> should_stop,
                        PluginSet& set);

/// Raises the soft RLIMIT_NOFILE to the hard limit (the usual service soft limit of 1,024 is too
/// few for deep trees and many clients) and logs both. Returns the soft limit in effect after.
std::uint64_t raise_fd_limit();

/// [api] max_connections as served under a soft open-file limit of `fd_limit`: at most half of
/// it, so that plugins, streams and the health reserve keep descriptors; a lowered value is
/// logged with the key and the limit.
std::uint64_t effective_max_connections(std::uint64_t configured, std::uint64_t fd_limit);

/// The reasons required plugins are not ok (missing, disabled, skipped, failed); empty when all
/// are ok.
std::vector<std::string> required_plugin_problems(const Config& cfg, const PluginSet& set);

} // namespace strata::host
