// walking::decode: the embedded defaults, and the values of gzip_decoder and decompress_thread
// (the other keys are exercised through the plugin in plugin_load_test.py).
#include "config.hpp"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <sstream>

namespace {

using strata::Code;
using strata::archive::GzipDecoder;
namespace json = strata::json;

json::object section(std::string_view text) {
  auto v = strata::parse_json(text, "test section");
  EXPECT_TRUE(v) << v.error().to_string();
  return v->as_object();
}

TEST(WalkingConfig, EmbeddedDefaultsDecodeToIsalOnItsOwnThread) {
  // The TOML the host merges under the operator's section, as the JSON decode() receives.
  std::ostringstream out;
  out << toml::json_formatter{toml::parse(strata::walking::default_config)};
  auto c = strata::walking::decode(section(out.str()));
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->gzip_decoder, GzipDecoder::Isal);
  EXPECT_TRUE(c->decompress_thread);
}

TEST(WalkingConfig, MissingKeysKeepTheDefaults) {
  auto c = strata::walking::decode(json::object{});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->gzip_decoder, GzipDecoder::Isal);
  EXPECT_TRUE(c->decompress_thread);
}

TEST(WalkingConfig, ZlibAndNoThread) {
  auto c =
      strata::walking::decode(section(R"({"gzip_decoder": "zlib", "decompress_thread": false})"));
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->gzip_decoder, GzipDecoder::Zlib);
  EXPECT_FALSE(c->decompress_thread);
  auto i = strata::walking::decode(section(R"({"gzip_decoder": "isal"})"));
  ASSERT_TRUE(i) << i.error().to_string();
  EXPECT_EQ(i->gzip_decoder, GzipDecoder::Isal);
}

TEST(WalkingConfig, UnknownGzipDecoderIsInvalidArgumentNamingKeyAndValues) {
  for (const char* bad : {R"("libdeflate")", R"("ISAL")", R"("")", "42", "true"}) {
    SCOPED_TRACE(bad);
    auto c = strata::walking::decode(section(std::string(R"({"gzip_decoder": )") + bad + "}"));
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code(), Code::InvalidArgument);
    const std::string& m = c.error().message();
    EXPECT_NE(m.find("gzip_decoder"), std::string::npos) << m;
    EXPECT_NE(m.find("\"isal\""), std::string::npos) << m;
    EXPECT_NE(m.find("\"zlib\""), std::string::npos) << m;
  }
}

} // namespace
