#include "strata/plugin/logger.hpp"

namespace strata {
namespace {

class NullLogger final : public Logger {
public:
  bool enabled(LogLevel) const noexcept override { return false; }
  void log(LogLevel, std::string_view) const noexcept override {}
};

} // namespace

std::shared_ptr<Logger> null_logger() {
  // Constructed on first use, in the one SDK library: no static initialiser runs in a plugin.
  static const std::shared_ptr<Logger> instance = std::make_shared<NullLogger>();
  return instance;
}

} // namespace strata
