// The SDK's side of logging: a context that has no log of its own (a test's fake context) hands
// out null_logger(), which is never null and drops everything; the level helpers reach log().
#include "strata/plugin/init_context.hpp"
#include "strata/plugin/logger.hpp"

#include "fake_init_context.hpp"
#include "recording_logger.hpp"

#include <gtest/gtest.h>

#include <vector>

using namespace strata;

namespace {

constexpr LogLevel all_levels[] = {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn,
                                   LogLevel::error};

TEST(Logger, DefaultContextLoggerDropsEverything) {
  strata::testing::FakeInitContext ic; // implements only what InitContext requires
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
