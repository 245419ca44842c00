// PluginRecord (host/record): the flat JSON form GET /v1/plugins serves and the CLI reads back.
#include "record/plugin_record.hpp"
#include "strata/plugin/types.hpp"

#include <gtest/gtest.h>

using namespace strata;
using namespace strata::host;

namespace {

TEST(PluginRecord, JsonIsFlatAndRoundTrips) {
  PluginRecord r;
  r.type = plugin_type::snapshotter;
  r.id = "overlayfs";
  r.requires_list = {"strata.content.v1.*"};
  r.meta.capabilities = {"rebase"};
  r.status = PluginStatus::Skip;
  r.reason = "no overlay";
  r.file = "/x.so";
  auto v = json::value_from(r);
  EXPECT_EQ(v.at("status").as_string(), "skip");
  EXPECT_EQ(v.at("capabilities").as_array().size(), 1u);
  EXPECT_EQ(v.at("requires").as_array().size(), 1u);
  auto back = from_json<PluginRecord>(json::parse(json::serialize(v)), "record");
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_EQ(*back, r);
}

TEST(PluginRecord, MissingFieldsAndUnknownStatusAreInvalidArgument) {
  auto missing = from_json<PluginRecord>(json::parse(R"({"id":"x","status":"ok"})"), "record");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::InvalidArgument);
  EXPECT_NE(missing.error().message().find("missing field \"type\""), std::string::npos);
  auto status =
      from_json<PluginRecord>(json::parse(R"({"type":"t","id":"x","status":"gone"})"), "record");
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.error().message().find("unknown plugin status \"gone\""), std::string::npos);
}

} // namespace
