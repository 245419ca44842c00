#include "daemon/plugin_logger.hpp"

namespace strata::host {
namespace {

class SpdlogPluginLogger final : public Logger {
public:
  explicit SpdlogPluginLogger(std::shared_ptr<spdlog::logger> out) : out_(std::move(out)) {}

  bool enabled(LogLevel level) const noexcept override {
    return out_->should_log(to_spdlog(level));
  }

  void log(LogLevel level, std::string_view message) const noexcept override {
    // The message is written as it is, never used as a format string: a plugin's "{}" stays.
    try {
      out_->log(to_spdlog(level), spdlog::string_view_t(message.data(), message.size()));
    } catch (...) {
      // Logger::log never throws (a plugin may log from a destructor); the line is lost.
    }
  }

private:
  std::shared_ptr<spdlog::logger> out_;
};

} // namespace

spdlog::level::level_enum to_spdlog(LogLevel level) noexcept {
  switch (level) {
  case LogLevel::trace:
    return spdlog::level::trace;
  case LogLevel::debug:
    return spdlog::level::debug;
  case LogLevel::info:
    return spdlog::level::info;
  case LogLevel::warn:
    return spdlog::level::warn;
  case LogLevel::error:
    return spdlog::level::err;
  }
  // Not an enumerator (a cast integer): shown rather than dropped.
  return spdlog::level::err;
}

std::shared_ptr<Logger> plugin_logger(const std::string& uri,
                                      const std::shared_ptr<spdlog::logger>& host) {
  return std::make_shared<SpdlogPluginLogger>(host->clone(uri));
}

} // namespace strata::host
