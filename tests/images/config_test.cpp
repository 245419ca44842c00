// The images service's config section and chain IDs.
#include "chain.hpp"
#include "service.hpp"

#include <strata/digest/sha256.hpp>

#include <gtest/gtest.h>

namespace {

namespace images = strata::images;
namespace json = strata::json;

json::object section(const char* text) {
  return json::parse(text).as_object();
}

TEST(ImagesConfig, DefaultsAndValues) {
  auto c = images::decode({});
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->sync_fs);
  EXPECT_EQ(c->max_parallel_layers, 4u);
  c = images::decode(section(R"({"sync_fs": true, "max_parallel_layers": 16})"));
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->sync_fs);
  EXPECT_EQ(c->max_parallel_layers, 16u);
}

TEST(ImagesConfig, BadValuesNameTheKey) {
  for (const char* bad : {R"({"sync_fs": 1})", R"({"max_parallel_layers": 0})",
                          R"({"max_parallel_layers": 1000})", R"({"max_manifest_bytes": -1})"}) {
    auto c = images::decode(section(bad));
    ASSERT_FALSE(c) << bad;
    EXPECT_EQ(c.error().code(), strata::Code::InvalidArgument);
    const std::string key = json::parse(bad).as_object().begin()->key();
    EXPECT_NE(c.error().message().find(key), std::string::npos) << c.error().message();
  }
}

TEST(ChainIds, FollowTheOciDefinition) {
  const std::string a = strata::digest::sha256_of("a"), b = strata::digest::sha256_of("b"),
                    c = strata::digest::sha256_of("c");
  auto chain = images::chain_ids({a, b, c});
  ASSERT_EQ(chain.size(), 3u);
  EXPECT_EQ(chain[0], a);
  EXPECT_EQ(chain[1], strata::digest::sha256_of(a + " " + b));
  EXPECT_EQ(chain[2], strata::digest::sha256_of(chain[1] + " " + c));
  EXPECT_TRUE(images::chain_ids({}).empty());
}

} // namespace
