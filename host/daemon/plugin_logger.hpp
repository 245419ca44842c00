#pragma once
// The host's strata::Logger: a plugin's log lines go into stratad's spdlog sinks, named after the
// plugin.

#include "strata/plugin/logger.hpp"

#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace strata::host {

/// The spdlog level of a plugin's LogLevel.
spdlog::level::level_enum to_spdlog(LogLevel level) noexcept;

/// A Logger for plugin `uri` ("<type>.<id>") writing to `host`'s sinks: a copy of `host` named
/// `uri`, so each line shows the plugin's URI where the host's own lines show the host's name,
/// with the same sinks, format and level (`host`'s level when this is called: stratad sets it
/// from --log-level before any plugin starts). Thread-safe as far as `host`'s sinks are (stratad's
/// are the _mt kind); it holds the sinks, so it stays usable for as long as a plugin keeps it.
std::shared_ptr<Logger> plugin_logger(const std::string& uri,
                                      const std::shared_ptr<spdlog::logger>& host);

} // namespace strata::host
