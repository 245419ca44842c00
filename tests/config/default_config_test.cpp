// The embedded default: it must say exactly what Config{} says, and explain itself.

#include "config_files.hpp"

#include <gmock/gmock.h>

namespace strata::host {
namespace {

using testing::expect_same_config;
using ::testing::HasSubstr;

TEST(EmbeddedDefault, ParsesToTheStructDefaults) {
  auto cfg = parse_config(embedded_default_config(), "<embedded defaults>");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  expect_same_config(*cfg, Config{});
  EXPECT_EQ(cfg->source, "<embedded defaults>");
}

TEST(EmbeddedDefault, StructDefaultsAreTheDocumentedOnes) {
  Config c;
  EXPECT_EQ(c.version, 1);
  EXPECT_EQ(c.root, "/var/lib/strata");
  EXPECT_EQ(c.state, "/run/strata");
  EXPECT_EQ(c.plugin_dirs,
            (std::vector<std::string>{"/usr/lib/strata/plugins", "/usr/local/lib/strata/plugins"}));
  EXPECT_TRUE(c.disabled_plugins.empty());
  EXPECT_TRUE(c.required_plugins.empty());
  EXPECT_EQ(c.api.address, "/run/strata/strata.sock");
  EXPECT_EQ(c.api.max_body_bytes, 1u << 20);
  EXPECT_EQ(c.api.max_connections, 512u);
  EXPECT_EQ(c.api.max_streams, 64u);
  EXPECT_EQ(c.api.max_streams_per_client, 16u);
  EXPECT_EQ(c.api.min_transfer_bytes, 16384u);
  EXPECT_EQ(c.api.transfer_window_seconds, 10u);
  EXPECT_EQ(c.api.workers, 8u);
  EXPECT_TRUE(c.plugins.empty());
  EXPECT_EQ(c.source, "<embedded defaults>");
}

TEST(EmbeddedDefault, IsCommentedForOperators) {
  std::string_view text = embedded_default_config();
  EXPECT_EQ(text.substr(0, 2), "# ");
  for (const char* key :
       {"version", "root", "state", "plugin_dirs", "disabled_plugins", "required_plugins", "[api]",
        "address", "max_body_bytes", "max_connections", "max_streams", "max_streams_per_client",
        "min_transfer_bytes", "transfer_window_seconds", "workers", "[plugins."})
    EXPECT_THAT(std::string(text), HasSubstr(key));
}

TEST(EmbeddedDefault, IsWhatLoadsWithoutAnyFile) {
  testing::ConfigFiles files;
  auto cfg = load_config(std::nullopt, files.path("config.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  expect_same_config(*cfg, Config{});
  EXPECT_EQ(cfg->source, "<embedded defaults>");
}

} // namespace
} // namespace strata::host
