// The SDK's side of logging: a context that has no log of its own (a test's fake context) hands
// out null_logger(), which is never null and drops everything; the level helpers reach log().
#include "strata/plugin/init_context.hpp"
#include "strata/plugin/logger.hpp"

#include "recording_logger.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace strata;

namespace {

// Implements only what InitContext requires, as a plugin author's test double would.
class FakeContext final : public InitContext {
public:
  const std::string& uri() const override { return s_; }
  const std::string& root() const override { return s_; }
  const std::string& state() const override { return s_; }
  const json::object& config() const override { return config_; }
  const std::map<std::string, std::string>& properties() const override { return props_; }
  Meta& meta() override { return meta_; }
  Result<std::shared_ptr<Instance>> get(const std::string& uri) const override {
    return not_found(uri);
  }
  Result<std::vector<std::pair<std::string, std::shared_ptr<Instance>>>>
  get_by_type(const std::string& type) const override {
    return not_found(type);
  }

private:
  std::string s_;
  json::object config_;
  std::map<std::string, std::string> props_;
  Meta meta_;
};

constexpr LogLevel all_levels[] = {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn,
                                   LogLevel::error};

TEST(Logger, DefaultContextLoggerDropsEverything) {
  FakeContext ic;
  std::shared_ptr<Logger> log = ic.logger();
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log, null_logger());
  for (LogLevel l : all_levels) {
    EXPECT_FALSE(log->enabled(l));
    log->log(l, "dropped"); // must simply return
  }
}

TEST(Logger, NullLoggerIsOneObject) {
  EXPECT_NE(null_logger(), nullptr);
  EXPECT_EQ(null_logger().get(), null_logger().get());
}

TEST(Logger, LevelHelpersCallLogWithTheirLevel) {
  strata::testing::RecordingLogger r;
  r.trace("t");
  r.debug("d");
  r.info("i");
  r.warn("w");
  r.error("e");
  EXPECT_EQ(r.lines(),
            (std::vector<strata::testing::RecordingLogger::Line>{{LogLevel::trace, "t"},
                                                                 {LogLevel::debug, "d"},
                                                                 {LogLevel::info, "i"},
                                                                 {LogLevel::warn, "w"},
                                                                 {LogLevel::error, "e"}}));
}

// Levels order from trace to error: the comparison a logger's filter relies on.
TEST(Logger, LevelsAreOrdered) {
  strata::testing::RecordingLogger r(LogLevel::warn);
  r.info("dropped");
  r.warn("kept");
  r.error("kept too");
  EXPECT_FALSE(r.enabled(LogLevel::info));
  EXPECT_EQ(r.lines().size(), 2u);
}

} // namespace
