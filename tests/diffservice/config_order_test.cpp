// The service's config section and the resolution of the configured order against the differs
// the host initialised.

#include "config.hpp"
#include "fake_differ.hpp"
#include "order.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace ds = strata::diffservice;
using diffservice_test::Behaviour;
using diffservice_test::FakeDiffer;

namespace {

strata::json::object section(std::string_view json_text) {
  auto v = strata::parse_json(json_text, "test section");
  EXPECT_TRUE(v) << v.error().to_string();
  return v->as_object();
}

using Available = std::vector<std::pair<std::string, std::shared_ptr<strata::Instance>>>;

std::shared_ptr<strata::Instance> differ(const std::string& id) {
  return std::make_shared<FakeDiffer>(id, Behaviour::Works);
}

std::string why(const std::string& id) {
  return "why-" + id;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

} // namespace

TEST(DiffServiceConfig, Defaults) {
  // What the host hands the plugin with no operator section: the declared defaults.
  auto c = ds::decode(section(R"({"default":["walking"],"sync_fs":false})"));
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->order, (std::vector<std::string>{"walking"}));
  EXPECT_FALSE(c->sync_fs);
  EXPECT_NE(std::string(ds::default_config).find("default = [\"walking\"]"), std::string::npos);
}

TEST(DiffServiceConfig, OrderAndSyncFs) {
  auto c = ds::decode(section(R"({"default":["notimpl","works"],"sync_fs":true})"));
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->order, (std::vector<std::string>{"notimpl", "works"}));
  EXPECT_TRUE(c->sync_fs);
}

TEST(DiffServiceConfig, BadOrdersAreRefusedWithTheFix) {
  struct Case {
    const char* json;
    const char* expected;
  };
  for (const auto& [json, expected] : {
           Case{R"({"default":[],"sync_fs":false})", "is empty"},
           Case{R"({"default":["a","b","a"],"sync_fs":false})", "lists \"a\" twice"},
           Case{R"({"default":[""],"sync_fs":false})", "empty string"},
           Case{R"({"default":["strata.differ.v1.walking"],"sync_fs":false})",
                "write the differ id \"walking\""},
       }) {
    auto c = ds::decode(section(json));
    ASSERT_FALSE(c) << json;
    EXPECT_EQ(c.error().code(), strata::Code::InvalidArgument);
    EXPECT_TRUE(contains(c.error().message(), expected)) << c.error().message();
    EXPECT_TRUE(contains(c.error().message(), "strata.service.v1.diff")) << c.error().message();
  }
}

TEST(DiffServiceOrder, ConfiguredOrderWinsOverInitOrder) {
  Available available = {
      {"works", differ("works")}, {"notimpl", differ("notimpl")}, {"other", differ("other")}};
  auto r = ds::resolve_order({"notimpl", "works"}, available, why);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(ds::order_text(r->order), "notimpl,works");
  EXPECT_TRUE(r->unavailable.empty());
  EXPECT_EQ(r->order[0].differ, available[1].second);
}

TEST(DiffServiceOrder, MissingDiffersAreLeftOutWithTheirReason) {
  Available available = {{"works", differ("works")}};
  auto r = ds::resolve_order({"gone", "works", "skipped"}, available, why);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(ds::order_text(r->order), "works");
  ASSERT_EQ(r->unavailable.size(), 2u);
  EXPECT_EQ(ds::unavailable_text(r->unavailable), "gone: why-gone; skipped: why-skipped");
}

TEST(DiffServiceOrder, NoUsableDifferIsAnErrorNamingMissingAndAvailable) {
  Available available = {{"walking", differ("walking")}, {"works", differ("works")}};
  auto r = ds::resolve_order({"foo", "bar"}, available, why);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), strata::Code::FailedPrecondition);
  const auto& m = r.error().message();
  EXPECT_TRUE(contains(m, "foo: why-foo; bar: why-bar")) << m;
  EXPECT_TRUE(contains(m, "available differs: walking, works")) << m;
  EXPECT_TRUE(contains(m, "fix:")) << m;
}

TEST(DiffServiceOrder, NoDifferAtAll) {
  auto r = ds::resolve_order({"walking"}, {}, why);
  ASSERT_FALSE(r);
  EXPECT_TRUE(contains(r.error().message(), "walking: why-walking")) << r.error().message();
  EXPECT_TRUE(contains(r.error().message(), "available differs: none")) << r.error().message();
}

TEST(DiffServiceOrder, AnInstanceThatIsNoDifferIsLeftOut) {
  Available available = {{"plain", std::make_shared<strata::Instance>()},
                         {"works", differ("works")}};
  auto r = ds::resolve_order({"plain", "works"}, available, why);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(ds::order_text(r->order), "works");
  ASSERT_EQ(r->unavailable.size(), 1u);
  EXPECT_TRUE(contains(r->unavailable[0].reason, "does not implement strata::Differ"));
}
