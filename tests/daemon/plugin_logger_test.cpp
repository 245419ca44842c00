// The host's Logger for plugins: each line carries the plugin's URI as the logger name, goes to
// the host's sinks at the host's level, is written verbatim, and is safe from many threads.
#include "daemon/plugin_logger.hpp"

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <gtest/gtest.h>

#include <sstream>
#include <thread>
#include <vector>

using namespace strata;

namespace {

// A host logger writing "<name>|<level>|<message>" lines into `out`.
std::shared_ptr<spdlog::logger> host_logger(std::ostringstream& out, spdlog::level::level_enum l) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
  auto logger = std::make_shared<spdlog::logger>("stratad", sink);
  logger->set_pattern("%n|%l|%v");
  logger->set_level(l);
  return logger;
}

std::vector<std::string> lines(const std::ostringstream& out) {
  std::vector<std::string> v;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);)
    v.push_back(line);
  return v;
}

TEST(PluginLogger, CarriesTheUriAndFiltersAtTheHostLevel) {
  std::ostringstream out;
  auto host = host_logger(out, spdlog::level::info);
  auto log = host::plugin_logger("strata.snapshotter.v1.x", host);
  EXPECT_FALSE(log->enabled(LogLevel::trace));
  EXPECT_FALSE(log->enabled(LogLevel::debug));
  EXPECT_TRUE(log->enabled(LogLevel::info));
  EXPECT_TRUE(log->enabled(LogLevel::warn));
  EXPECT_TRUE(log->enabled(LogLevel::error));
  log->trace("t");
  log->debug("d");
  log->info("i");
  log->warn("w");
  log->error("e");
  EXPECT_EQ(lines(out), (std::vector<std::string>{"strata.snapshotter.v1.x|info|i",
                                                  "strata.snapshotter.v1.x|warning|w",
                                                  "strata.snapshotter.v1.x|error|e"}));
}

TEST(PluginLogger, TraceLevelLetsEverythingThrough) {
  std::ostringstream out;
  auto log = host::plugin_logger("t.v1.a", host_logger(out, spdlog::level::trace));
  for (auto l : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error})
    EXPECT_TRUE(log->enabled(l));
  log->trace("t");
  log->debug("d");
  EXPECT_EQ(lines(out), (std::vector<std::string>{"t.v1.a|trace|t", "t.v1.a|debug|d"}));
}

TEST(PluginLogger, OffWritesNothing) {
  std::ostringstream out;
  auto log = host::plugin_logger("t.v1.a", host_logger(out, spdlog::level::off));
  for (auto l : {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error})
    EXPECT_FALSE(log->enabled(l));
  log->error("e");
  EXPECT_EQ(out.str(), "");
}

TEST(PluginLogger, MessagesAreTextNotFormatStrings) {
  std::ostringstream out;
  auto log = host::plugin_logger("t.v1.a", host_logger(out, spdlog::level::info));
  log->info("{} {:x} {0} %s");
  log->info(std::string_view("cut here", 3));
  EXPECT_EQ(lines(out),
            (std::vector<std::string>{"t.v1.a|info|{} {:x} {0} %s", "t.v1.a|info|cut"}));
}

TEST(PluginLogger, LeavesTheHostLoggerAsItWas) {
  std::ostringstream out;
  auto host = host_logger(out, spdlog::level::info);
  auto log = host::plugin_logger("t.v1.a", host);
  host->info("host line");
  log->info("plugin line");
  EXPECT_EQ(lines(out),
            (std::vector<std::string>{"stratad|info|host line", "t.v1.a|info|plugin line"}));
}

TEST(PluginLogger, OutlivesTheHostLoggerObject) {
  std::ostringstream out;
  std::shared_ptr<Logger> log;
  {
    auto host = host_logger(out, spdlog::level::info);
    log = host::plugin_logger("t.v1.a", host);
  }
  log->warn("still here");
  EXPECT_EQ(lines(out), (std::vector<std::string>{"t.v1.a|warning|still here"}));
}

TEST(PluginLogger, WholeLinesFromManyThreads) {
  std::ostringstream out;
  auto log = host::plugin_logger("t.v1.a", host_logger(out, spdlog::level::info));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&log, t] {
      for (int i = 0; i < 200; ++i)
        log->info("thread " + std::to_string(t) + " line " + std::to_string(i));
    });
  for (auto& th : threads)
    th.join();
  auto got = lines(out);
  ASSERT_EQ(got.size(), 800u);
  for (const auto& line : got)
    EXPECT_TRUE(line.starts_with("t.v1.a|info|thread ")) << line;
}

TEST(PluginLogger, LevelsMapOneToOne) {
  EXPECT_EQ(host::to_spdlog(LogLevel::trace), spdlog::level::trace);
  EXPECT_EQ(host::to_spdlog(LogLevel::debug), spdlog::level::debug);
  EXPECT_EQ(host::to_spdlog(LogLevel::info), spdlog::level::info);
  EXPECT_EQ(host::to_spdlog(LogLevel::warn), spdlog::level::warn);
  EXPECT_EQ(host::to_spdlog(LogLevel::error), spdlog::level::err);
}

} // namespace
