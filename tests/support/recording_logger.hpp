#pragma once
// RecordingLogger: a strata::Logger that keeps its lines, for tests of code that logs.

#include <strata/plugin/logger.hpp>

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::testing {

/// Keeps every line at `min` or above, in order. Thread-safe, as Logger requires.
class RecordingLogger final : public Logger {
public:
  using Line = std::pair<LogLevel, std::string>;

  explicit RecordingLogger(LogLevel min = LogLevel::trace) : min_(min) {}

  bool enabled(LogLevel level) const noexcept override { return level >= min_; }
  void log(LogLevel level, std::string_view message) const noexcept override {
    if (!enabled(level))
      return;
    std::lock_guard lock(mutex_);
    lines_.emplace_back(level, std::string(message));
  }

  /// Every line kept so far.
  std::vector<Line> lines() const {
    std::lock_guard lock(mutex_);
    return lines_;
  }
  /// Whether a line at `level` contains `part`.
  bool has(LogLevel level, std::string_view part) const {
    std::lock_guard lock(mutex_);
    for (const auto& [l, text] : lines_)
      if (l == level && text.find(part) != std::string::npos)
        return true;
    return false;
  }

private:
  LogLevel min_;
  mutable std::mutex mutex_;
  mutable std::vector<Line> lines_;
};

} // namespace strata::testing
