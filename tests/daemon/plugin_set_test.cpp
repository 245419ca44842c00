// PluginSet: init in graph order, cascades naming the root cause, skips, timeouts, lookups
// (typed, with status-aware errors), reverse close.
#include "daemon/plugin_set.hpp"

#include "strata/registry/graph.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <sstream>
#include <thread>

using namespace strata;
using namespace strata::host;

namespace {

std::vector<std::string>* close_log = nullptr;

struct Other : Instance {};

struct Recorder : Instance {
  explicit Recorder(std::string n) : name(std::move(n)) {}
  Status close() override {
    if (close_log)
      close_log->push_back(name);
    return {};
  }
  std::string name;
};

registry::Entry entry(std::string id, std::vector<std::string> req, InitFn init) {
  Registration r;
  r.type = "t.v1";
  r.id = std::move(id);
  r.requires_list = std::move(req);
  r.init = std::move(init);
  std::string origin = "/plugins/" + r.id + ".so";
  return {std::move(r), std::move(origin), nullptr};
}

InitFn ok_init(std::string name) {
  return [name](InitContext&) -> InitResult { return std::make_shared<Recorder>(name); };
}

class PluginSetTest : public ::testing::Test {
protected:
  PluginSet set;
  PluginSetOptions options{"/r", "/s", "/s/sock", nullptr, std::chrono::seconds(5), nullptr};

  void run(std::vector<registry::Entry> entries) {
    set.initialise(registry::graph(entries, {}), options);
  }
  const PluginRecord& rec(const std::string& id) {
    auto* r = set.find("t.v1." + id);
    EXPECT_NE(r, nullptr) << id;
    return *r;
  }
};

TEST_F(PluginSetTest, OkPluginGetsDirectoriesPropertiesAndMeta) {
  std::string seen_root, seen_state, seen_addr;
  run({entry("a", {}, [&](InitContext& ic) -> InitResult {
    seen_root = ic.root();
    seen_state = ic.state();
    seen_addr = ic.properties().at(property::address);
    ic.meta().capabilities.push_back("rebase");
    ic.meta().exports["root"] = ic.root();
    return std::make_shared<Recorder>("a");
  })});
  EXPECT_EQ(seen_root, "/r/t.v1.a");
  EXPECT_EQ(seen_state, "/s/t.v1.a");
  EXPECT_EQ(seen_addr, "/s/sock");
  EXPECT_EQ(rec("a").status, PluginStatus::Ok);
  EXPECT_EQ(rec("a").meta.capabilities, (std::vector<std::string>{"rebase"}));
  EXPECT_EQ(rec("a").file, "/plugins/a.so");
  EXPECT_NE(set.instance("t.v1.a"), nullptr);
}

TEST_F(PluginSetTest, CascadeNamesTheRootCause) {
  run({entry("c", {"t.v1.b"}, ok_init("c")), entry("b", {"t.v1.a"}, ok_init("b")),
       entry("a", {}, [](InitContext&) -> InitResult {
         return Error(Code::FailedPrecondition, "disk on fire");
       })});
  EXPECT_EQ(rec("a").status, PluginStatus::Error);
  EXPECT_EQ(rec("a").error_code, "FailedPrecondition");
  for (auto id : {"b", "c"}) {
    EXPECT_EQ(rec(id).status, PluginStatus::Error) << id;
    EXPECT_NE(rec(id).reason.find("t.v1.a: disk on fire"), std::string::npos) << rec(id).reason;
  }
  EXPECT_NE(rec("c").reason.find("dependency t.v1.b failed"), std::string::npos);
}

TEST_F(PluginSetTest, SkippedDependencySkipsDependents) {
  run({entry("a", {}, [](InitContext&) { return InitResult::skip("no btrfs here"); }),
       entry("b", {"t.v1.a"}, ok_init("b"))});
  EXPECT_EQ(rec("a").status, PluginStatus::Skip);
  EXPECT_EQ(rec("a").reason, "no btrfs here");
  EXPECT_EQ(rec("b").status, PluginStatus::Skip);
  EXPECT_NE(rec("b").reason.find("no btrfs here"), std::string::npos);
}

TEST_F(PluginSetTest, WildcardDependencyFailureDoesNotCascade) {
  run({entry("bad", {}, [](InitContext&) -> InitResult { return internal_error("x"); }),
       entry("good", {}, ok_init("good")),
       entry("user", {"t.v1.*"}, [](InitContext& ic) -> InitResult {
         auto all = ic.get_by_type("t.v1");
         if (!all || all->size() != 1 || all->front().first != "good")
           return internal_error("wrong lookup");
         return std::make_shared<Recorder>("user");
       })});
  EXPECT_EQ(rec("user").status, PluginStatus::Ok) << rec("user").reason;
}

TEST_F(PluginSetTest, LookupOfUndeclaredDependencyIsRefused) {
  run({entry("a", {}, ok_init("a")), entry("b", {}, [](InitContext& ic) -> InitResult {
         auto r = ic.get("t.v1.a");
         if (r || r.error().code() != Code::NotFound)
           return internal_error("undeclared lookup must fail");
         return std::make_shared<Recorder>("b");
       })});
  EXPECT_EQ(rec("b").status, PluginStatus::Ok) << rec("b").reason;
}

TEST_F(PluginSetTest, TypedLookupOfDeclaredDependency) {
  run({entry("a", {}, ok_init("a")), entry("b", {"t.v1.a"}, [](InitContext& ic) -> InitResult {
         auto r = ic.get_as<Recorder>("t.v1.a");
         if (!r || (*r)->name != "a")
           return internal_error("lookup failed");
         return std::make_shared<Recorder>("b");
       })});
  EXPECT_EQ(rec("b").status, PluginStatus::Ok) << rec("b").reason;
}

TEST_F(PluginSetTest, ThrowingAndNullInitsAreErrors) {
  run({entry("t", {}, [](InitContext&) -> InitResult { throw std::runtime_error("kaboom"); }),
       entry("n", {}, [](InitContext&) -> InitResult { return std::shared_ptr<Instance>(); })});
  EXPECT_EQ(rec("t").status, PluginStatus::Error);
  EXPECT_NE(rec("t").reason.find("kaboom"), std::string::npos);
  EXPECT_EQ(rec("n").status, PluginStatus::Error);
}

TEST_F(PluginSetTest, HungInitTimesOutAndOthersContinue) {
  options.init_timeout = std::chrono::milliseconds(200);
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  run({entry("hang", {},
             [released](InitContext&) -> InitResult {
               released.wait();
               return internal_error("late");
             }),
       entry("after", {}, ok_init("after"))});
  EXPECT_EQ(rec("hang").status, PluginStatus::Error);
  EXPECT_EQ(rec("hang").error_code, "DeadlineExceeded");
  EXPECT_NE(rec("hang").reason.find("did not return"), std::string::npos);
  EXPECT_EQ(rec("after").status, PluginStatus::Ok);
  release->set_value(); // let the abandoned thread finish before the test ends
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

TEST_F(PluginSetTest, StopRequestAbandonsHungInitAndInitialisesNothingMore) {
  auto stop = std::make_shared<std::atomic<bool>>(false);
  options.should_stop = [stop] { return stop->load(); };
  auto release = std::make_shared<std::promise<void>>();
  auto released = release->get_future().share();
  std::thread signaller([stop] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop->store(true);
  });
  auto t0 = std::chrono::steady_clock::now();
  run({entry("hang", {},
             [released](InitContext&) -> InitResult {
               released.wait();
               return internal_error("late");
             }),
       entry("after", {}, ok_init("after"))});
  signaller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
  EXPECT_EQ(rec("hang").error_code, "Cancelled");
  EXPECT_EQ(set.find("t.v1.after"), nullptr);
  release->set_value();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

TEST_F(PluginSetTest, ConfigErrorFailsOnlyThatPlugin) {
  options.config_for = [](const Registration& r) -> Result<json::object> {
    if (r.id == "a")
      return invalid_argument("/etc/strata/config.toml:3:1: unknown key \"x\"");
    return json::object{{"k", 1}};
  };
  json::object seen;
  run({entry("a", {}, ok_init("a")), entry("b", {}, [&](InitContext& ic) -> InitResult {
         seen = ic.config();
         return std::make_shared<Recorder>("b");
       })});
  EXPECT_EQ(rec("a").status, PluginStatus::Error);
  EXPECT_NE(rec("a").reason.find("config.toml:3:1"), std::string::npos);
  EXPECT_EQ(seen.at("k").as_int64(), 1);
}

// Each plugin's InitContext::logger() writes to the host's (default) logger's sinks under the
// plugin's URI, and stays usable after init.
TEST_F(PluginSetTest, PluginsLogIntoTheHostLogUnderTheirUri) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto host = std::make_shared<spdlog::logger>(
      "stratad", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  host->set_pattern("%n|%l|%v");
  host->set_level(spdlog::level::info);
  spdlog::set_default_logger(host);
  std::shared_ptr<Logger> kept;
  run({entry("a", {},
             [&](InitContext& ic) -> InitResult {
               kept = ic.logger();
               kept->debug("filtered out");
               kept->warn("during init");
               return std::make_shared<Recorder>("a");
             }),
       entry("b", {}, [](InitContext& ic) -> InitResult {
         ic.logger()->info("b says hi");
         return std::make_shared<Recorder>("b");
       })});
  spdlog::set_default_logger(previous);
  ASSERT_NE(kept, nullptr);
  kept->error("after init");
  const std::string log = out.str();
  EXPECT_NE(log.find("t.v1.a|warning|during init\n"), std::string::npos) << log;
  EXPECT_NE(log.find("t.v1.b|info|b says hi\n"), std::string::npos) << log;
  EXPECT_NE(log.find("t.v1.a|error|after init\n"), std::string::npos) << log;
  EXPECT_EQ(log.find("filtered out"), std::string::npos) << log;
}

TEST_F(PluginSetTest, CloseRunsInReverseInitOrder) {
  std::vector<std::string> log;
  close_log = &log;
  run({entry("c", {"t.v1.b"}, ok_init("c")), entry("b", {"t.v1.a"}, ok_init("b")),
       entry("a", {}, ok_init("a"))});
  set.close_all();
  close_log = nullptr;
  EXPECT_EQ(log, (std::vector<std::string>{"c", "b", "a"}));
  EXPECT_EQ(set.instance("t.v1.a"), nullptr);
}

TEST_F(PluginSetTest, FileFailuresAreListedAfterPlugins) {
  FileOutcome f;
  f.path = "/plugins/broken.so";
  f.error = not_found("no strata_plugin_v2 entry");
  set.add_file_failures({f});
  run({entry("a", {}, ok_init("a"))});
  auto records = set.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].id, "broken.so");
  EXPECT_EQ(records[1].type, "");
  EXPECT_EQ(records[1].error_code, "NotFound");
}

TEST_F(PluginSetTest, GetAsSaysWhyThereIsNoInstance) {
  FileOutcome f;
  f.path = "/plugins/old.so";
  f.type = "t.v1";
  f.id = "old";
  f.error = failed_precondition("built for ABI 0");
  set.add_file_failures({f});
  run({entry("a", {}, ok_init("a")),
       entry("s", {}, [](InitContext&) { return InitResult::skip("no btrfs here"); }),
       entry("e", {}, [](InitContext&) -> InitResult { return internal_error("disk on fire"); })});

  auto a = set.get_as<Recorder>("t.v1.a");
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ((*a)->name, "a");

  auto missing = set.get_as<Recorder>("t.v1.nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Code::NotFound);

  for (auto [uri, why] :
       {std::pair{"t.v1.s", "skip: no btrfs here"}, std::pair{"t.v1.e", "error: disk on fire"},
        std::pair{"t.v1.old", "error: built for ABI 0"}}) {
    auto r = set.get_as<Recorder>(uri);
    ASSERT_FALSE(r) << uri;
    EXPECT_EQ(r.error().code(), Code::FailedPrecondition) << uri;
    EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
    EXPECT_EQ(route_error(r.error()).code(), Code::Unavailable);
  }

  auto wrong = set.get_as<Other>("t.v1.a");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), Code::InvalidArgument);
  EXPECT_NE(wrong.error().message().find("Other"), std::string::npos) << wrong.error().message();
  EXPECT_EQ(route_error(wrong.error()).code(), Code::Internal);

  EXPECT_EQ(set.uris_of("t.v1"),
            (std::vector<std::string>{"t.v1.a", "t.v1.s", "t.v1.e", "t.v1.old"}));
}

} // namespace
