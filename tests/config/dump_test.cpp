// dump_config: the effective config as TOML that parse_config reads back.

#include "config_files.hpp"

#include <gmock/gmock.h>

namespace strata::host {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

using PluginDefaults = std::vector<std::pair<std::string, std::string>>;

const PluginDefaults installed = {
    {"strata.snapshotter.v1.overlayfs",
     "root_path = \"\"\nsync_remove = false\nmount_options = []\nratio = 0.5\n"},
    {"strata.service.v1.diff", "default = [\"walking\"]\nsync_fs = false\n[stream_processors]\n"},
    {"strata.snapshotter.v1.native", ""},
    {"strata.gc.v1.scheduler", "[policy]\npause_threshold = 0.02\ndeletion_threshold = 0\n"
                               "started = 1979-05-27T07:32:00Z\n"},
};

const char* full_example = R"(
version = 1
root = "/srv/strata/data"
state = "/srv/strata/run"
plugin_dirs = ["/opt/strata/plugins", "/usr/lib/strata/plugins"]
disabled_plugins = ["strata.snapshotter.v1.native"]
required_plugins = ["strata.snapshotter.v1.overlayfs"]

[api]
address = "/srv/strata/run/api.sock"
max_body_bytes = 65536
max_connections = 100
workers = 3

[plugins."strata.snapshotter.v1.overlayfs"]
mount_options = ["index=off", "label=\"été\"\ttab"]
ratio = 2

[plugins."strata.service.v1.diff".stream_processors."io.gzip"]
accepts = ["application/vnd.oci.image.layer.v1.tar+gzip"]
path = "/usr/bin/unpigz"

[plugins."strata.gc.v1.scheduler".policy]
pause_threshold = 0.5
started = 2024-01-02T03:04:05.25+01:00

[plugins."vendor.snapshotter.v1.custom"]
pool = "thin"
)";

TEST(DumpConfig, FullExampleRoundTrips) {
  testing::ConfigFiles files;
  auto cfg = files.load(full_example);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  std::string text = dump_config(*cfg, installed);

  auto again = parse_config(text, "dump.toml");
  ASSERT_TRUE(again.ok()) << again.error().message() << "\n" << text;
  EXPECT_EQ(again->root, "/srv/strata/data");
  EXPECT_EQ(again->state, "/srv/strata/run");
  EXPECT_EQ(again->plugin_dirs, cfg->plugin_dirs);
  EXPECT_EQ(again->disabled_plugins, cfg->disabled_plugins);
  EXPECT_EQ(again->required_plugins, cfg->required_plugins);
  EXPECT_EQ(again->api.address, cfg->api.address);
  EXPECT_EQ(again->api.max_body_bytes, 65536u);
  EXPECT_EQ(again->api.max_connections, 100u);
  EXPECT_EQ(again->api.workers, 3u);
  EXPECT_EQ(again->api.transfer_window_seconds, 10u);

  // Every plugin sees the same config from the dump as from the original, and the dump holds
  // the defaults too, so it needs no defaults of its own.
  for (const auto& [uri, defaults] : installed) {
    if (defaults.empty())
      continue;
    auto original = plugin_config(*cfg, uri, defaults);
    auto dumped = plugin_config(*again, uri, defaults);
    ASSERT_TRUE(original.ok()) << original.error().message();
    ASSERT_TRUE(dumped.ok()) << dumped.error().message() << "\n" << text;
    EXPECT_EQ(*original, *dumped) << uri;
    ASSERT_TRUE(again->plugins.count(uri)) << uri << "\n" << text;
  }
  const auto& overlay = again->plugins.at("strata.snapshotter.v1.overlayfs").table;
  EXPECT_EQ(overlay["root_path"].value<std::string>(), "") << text;
  EXPECT_EQ(overlay["ratio"].value<double>(), 2.0) << text;
  EXPECT_TRUE(overlay["ratio"].is_floating_point()) << text;
  EXPECT_TRUE(again->plugins.at("vendor.snapshotter.v1.custom").table ==
              cfg->plugins.at("vendor.snapshotter.v1.custom").table);

  // Dumping the dump changes nothing.
  EXPECT_EQ(dump_config(*again, installed), text);
}

TEST(DumpConfig, OrderIsTopLevelThenApiThenPluginsAsGiven) {
  Config cfg;
  std::string text = dump_config(cfg, {{"z.last", "x = 1\n"}, {"a.first", "y = 2\n"}});
  auto api = text.find("[api]");
  auto z = text.find("[plugins.\"z.last\"]");
  auto a = text.find("[plugins.\"a.first\"]");
  ASSERT_NE(api, std::string::npos) << text;
  ASSERT_NE(z, std::string::npos) << text;
  ASSERT_NE(a, std::string::npos) << text;
  EXPECT_LT(text.find("version = 1"), text.find("root = "));
  EXPECT_LT(text.find("required_plugins = "), api);
  EXPECT_LT(api, z);
  EXPECT_LT(z, a);
}

TEST(DumpConfig, DefaultsDumpToTheDefaults) {
  Config cfg;
  std::string text = dump_config(cfg, {});
  auto again = parse_config(text, "dump.toml");
  ASSERT_TRUE(again.ok()) << again.error().message() << "\n" << text;
  testing::expect_same_config(*again, cfg);
  EXPECT_THAT(text, HasSubstr("max_body_bytes = 1048576\n"));
}

TEST(DumpConfig, SectionsOfPluginsNotLoadedAreKeptAsGiven) {
  testing::ConfigFiles files;
  auto cfg = files.load("[plugins.\"vendor.differ.v1.x\"]\nlevel = 3\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  std::string text = dump_config(*cfg, {});
  EXPECT_THAT(text, HasSubstr("\n# not loaded\n[plugins.\"vendor.differ.v1.x\"]\nlevel = 3\n"));
  auto again = parse_config(text, "dump.toml");
  ASSERT_TRUE(again.ok()) << again.error().message() << "\n" << text;
  ASSERT_EQ(again->plugins.count("vendor.differ.v1.x"), 1u);
  EXPECT_EQ(again->plugins.at("vendor.differ.v1.x").table["level"].value<std::int64_t>(), 3);
}

TEST(DumpConfig, PluginWithoutConfigIsACommentOnly) {
  std::string text = dump_config(Config{}, {{"strata.snapshotter.v1.native", ""}});
  EXPECT_THAT(text, HasSubstr("# plugin strata.snapshotter.v1.native takes no configuration\n"));
  EXPECT_THAT(text, Not(HasSubstr("[plugins.")));
}

TEST(DumpConfig, InvalidSectionsAreDumpedAsGivenUnderTheError) {
  testing::ConfigFiles files;
  auto cfg = files.load("[plugins.\"a.b\"]\nflag = \"yes\"\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  std::string text =
      dump_config(*cfg, {{"a.b", "flag = false\n"}, {"c.d", "x = = 1\n"}, {"e.f", ""}});
  EXPECT_THAT(text, HasSubstr("# error: " + files.path("config.toml") +
                              ":2:8: key \"flag\" in [plugins.\"a.b\"] must be a boolean, not a "
                              "string\n[plugins.\"a.b\"]\nflag = \"yes\"\n"));
  EXPECT_THAT(text, HasSubstr("# error: plugin c.d declares config defaults"));
  auto again = parse_config(text, "dump.toml");
  ASSERT_TRUE(again.ok()) << again.error().message() << "\n" << text;
}

TEST(DumpConfig, FloatsStayFloats) {
  std::string text = dump_config(Config{}, {{"a.b", "whole = 2.0\ntiny = 1e-7\n"}});
  auto again = parse_config(text, "dump.toml");
  ASSERT_TRUE(again.ok()) << again.error().message() << "\n" << text;
  const auto& t = again->plugins.at("a.b").table;
  EXPECT_TRUE(t["whole"].is_floating_point()) << text;
  EXPECT_EQ(t["whole"].value<double>(), 2.0);
  EXPECT_EQ(t["tiny"].value<double>(), 1e-7);
}

} // namespace
} // namespace strata::host
