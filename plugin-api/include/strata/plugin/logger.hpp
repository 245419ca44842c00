#pragma once
/// \file
/// Logger: how a plugin writes log lines. The host routes them into its own log (stratad: its
/// spdlog sinks, at the level the operator chose, each line carrying the plugin's "<type>.<id>"),
/// so a plugin never writes to stderr or stdout itself. No logging library is needed to use it:
/// messages are plain text.

#include <memory>
#include <string_view>

namespace strata {

/// Severity of a log line, least severe first. The numeric values are part of the ABI.
enum class LogLevel : int {
  trace = 0, ///< step-by-step detail, for debugging a plugin
  debug = 1, ///< what an operator needs to follow one request or decision
  info = 2,  ///< normal events worth a line: a repair done at start, a setting in effect
  warn = 3,  ///< something went wrong that the plugin worked around; the operator may act
  error = 4, ///< an operation failed and nobody receives the error as a value
};

/// The log of one plugin, from InitContext::logger().
///
/// Lifetime: the plugin may keep the shared_ptr for as long as it likes (in its instance, in
/// worker threads), beyond init and close; the object stays valid while any copy is held.
/// Thread safety: every method may be called from any thread at the same time.
/// Errors: none; logging never fails visibly and never throws (a line the host cannot write is
/// lost).
class Logger {
public:
  virtual ~Logger();

  /// Whether a line at `level` would be written. Check it before building an expensive message:
  /// `if (log->enabled(LogLevel::debug)) log->debug(describe(tree));`.
  virtual bool enabled(LogLevel level) const noexcept = 0;
  /// Writes `message` (one line, no trailing newline needed) at `level` when enabled(level);
  /// otherwise does nothing. The host adds time, level and the plugin's "<type>.<id>".
  virtual void log(LogLevel level, std::string_view message) const noexcept = 0;

  /// log(LogLevel::trace, message).
  void trace(std::string_view message) const noexcept { log(LogLevel::trace, message); }
  /// log(LogLevel::debug, message).
  void debug(std::string_view message) const noexcept { log(LogLevel::debug, message); }
  /// log(LogLevel::info, message).
  void info(std::string_view message) const noexcept { log(LogLevel::info, message); }
  /// log(LogLevel::warn, message).
  void warn(std::string_view message) const noexcept { log(LogLevel::warn, message); }
  /// log(LogLevel::error, message).
  void error(std::string_view message) const noexcept { log(LogLevel::error, message); }
};

/// A Logger that discards every line (enabled() is false at every level). What InitContext's
/// default logger() returns, and what code that takes an optional logger can fall back to, so
/// that it never needs to check for null. The same object on every call; never null.
std::shared_ptr<Logger> null_logger();

} // namespace strata
