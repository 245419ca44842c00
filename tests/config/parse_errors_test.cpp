// Every way parse_config rejects a file, with the exact position it reports. The files are
// loaded from disk so that the message names them as an operator would see it.

#include "config_files.hpp"

#include <gmock/gmock.h>

namespace strata::host {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct BadConfig {
  const char* name;
  const char* text;
  const char* message; ///< after "FILE:"
};

void PrintTo(const BadConfig& c, std::ostream* os) {
  *os << c.name;
}

class ParseErrors : public ::testing::TestWithParam<BadConfig> {};

TEST_P(ParseErrors, NamesFileLineAndColumn) {
  testing::ConfigFiles files;
  auto cfg = files.load(GetParam().text);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code(), Code::InvalidArgument);
  EXPECT_EQ(cfg.error().message(), files.path("config.toml") + ":" + GetParam().message);
}

const BadConfig bad_configs[] = {
    {"UnknownTopLevelKey", "version = 1\nroots = \"/srv\"\n",
     "2:1: unknown key \"roots\"; known keys: version, root, state, plugin_dirs, "
     "disabled_plugins, required_plugins, api, plugins; did you mean \"root\"?"},
    {"UnknownKeyWithoutSuggestion", "colour = \"blue\"\n",
     "1:1: unknown key \"colour\"; known keys: version, root, state, plugin_dirs, "
     "disabled_plugins, required_plugins, api, plugins"},
    {"UnknownTable", "\n[apis]\naddress = \"/run/x.sock\"\n",
     "2:2: unknown key \"apis\"; known keys: version, root, state, plugin_dirs, "
     "disabled_plugins, required_plugins, api, plugins; did you mean \"api\"?"},
    {"UnknownApiKey", "[api]\nadress = \"/run/x.sock\"\n",
     "2:1: unknown key \"adress\" in [api]; known keys: address, max_body_bytes, "
     "max_connections, max_streams, max_streams_per_client, min_transfer_bytes, "
     "transfer_window_seconds, workers; did you mean \"address\"?"},
    {"RootNotAString", "root = 5\n", "1:8: key \"root\" must be a string, not an integer"},
    {"StateNotAString", "state = [\"/run\"]\n",
     "1:9: key \"state\" must be a string, not an array"},
    {"VersionNotAnInteger", "version = \"1\"\n",
     "1:11: key \"version\" must be an integer, not a string"},
    {"UnsupportedVersion", "version = 2\n",
     "1:11: version 2 is not supported; this stratad reads version 1"},
    {"RelativeRoot", "root = \"var/lib/strata\"\n",
     "1:8: key \"root\" is \"var/lib/strata\": relative paths are not allowed: use an absolute "
     "path"},
    {"RelativeState", "# comment\nstate   =   \"run\"\n",
     "2:13: key \"state\" is \"run\": relative paths are not allowed: use an absolute path"},
    {"RelativePluginDir", "plugin_dirs = [\"/usr/lib\", \"plugins\"]\n",
     "1:28: an entry of key \"plugin_dirs\" is \"plugins\": relative paths are not allowed: use an "
     "absolute path"},
    {"PluginDirNotAString", "plugin_dirs = [\"/a\", 5]\n",
     "1:22: key \"plugin_dirs\" must be an array of strings; element 2 is an integer"},
    {"PluginDirsNotAnArray", "plugin_dirs = \"/usr/lib\"\n",
     "1:15: key \"plugin_dirs\" must be an array of strings, not a string"},
    {"RelativeAddress", "[api]\naddress = \"strata.sock\"\n",
     "2:11: key \"address\" in [api] is \"strata.sock\": relative paths are not allowed: use an "
     "absolute path"},
    {"AddressNotAString", "api = { address = 1 }\n",
     "1:19: key \"address\" in [api] must be a string, not an integer"},
    {"ApiNotATable", "api = \"/run/x.sock\"\n", "1:7: key \"api\" must be a table, not a string"},
    {"RootEqualsState", "root = \"/srv/strata\"\nstate = \"/srv/strata/\"\n",
     "2:9: root and state are both \"/srv/strata\"; they must differ: root holds persistent "
     "data, state holds runtime state"},
    {"RootEqualsDefaultState", "root = \"/run/strata\"\n",
     "1:8: root and state are both \"/run/strata\"; they must differ: root holds persistent "
     "data, state holds runtime state"},
    {"DisabledNotAUri", "disabled_plugins = [\"overlayfs\"]\n",
     "1:21: an entry of key \"disabled_plugins\" is \"overlayfs\", which is not a plugin URI: "
     "write \"<type>.<id>\", e.g. \"strata.snapshotter.v1.overlayfs\""},
    {"RequiredWithSpace", "required_plugins = [\n  \"strata.snapshotter.v1 overlayfs\",\n]\n",
     "2:3: an entry of key \"required_plugins\" is \"strata.snapshotter.v1 overlayfs\", which is "
     "not a plugin URI: write \"<type>.<id>\", e.g. \"strata.snapshotter.v1.overlayfs\""},
    {"RequiredTrailingDot", "required_plugins = [\"strata.\"]\n",
     "1:21: an entry of key \"required_plugins\" is \"strata.\", which is not a plugin URI: write "
     "\"<type>.<id>\", e.g. \"strata.snapshotter.v1.overlayfs\""},
    {"ZeroMaxBody", "[api]\nmax_body_bytes = 0\n",
     "2:18: key \"max_body_bytes\" in [api] must be greater than 0, not 0"},
    {"NegativeMaxBody", "[api]\nmax_body_bytes = -5\n",
     "2:18: key \"max_body_bytes\" in [api] must be greater than 0, not -5"},
    {"FloatMaxBody", "[api]\nmax_body_bytes = 1.5\n",
     "2:18: key \"max_body_bytes\" in [api] must be an integer, not a float"},
    {"ZeroMaxConnections", "[api]\nmax_connections = 0\n",
     "2:19: key \"max_connections\" in [api] must be greater than 0, not 0"},
    {"HugeMaxConnections", "[api]\nmax_connections = 2000000\n",
     "2:19: key \"max_connections\" in [api] must be at most 1048576, not 2000000"},
    {"ZeroWorkers", "[api]\nworkers = 0\n",
     "2:11: key \"workers\" in [api] must be greater than 0, not 0"},
    {"NegativeMinTransfer", "[api]\nmin_transfer_bytes = -1\n",
     "2:22: key \"min_transfer_bytes\" in [api] must be at least 0, not -1"},
    {"ZeroTransferWindow", "[api]\ntransfer_window_seconds = 0\n",
     "2:27: key \"transfer_window_seconds\" in [api] must be greater than 0, not 0"},
    {"StringMaxStreams", "[api]\nmax_streams = \"64\"\n",
     "2:15: key \"max_streams\" in [api] must be an integer, not a string"},
    {"PerClientOverTotal", "[api]\nmax_streams = 4\nmax_streams_per_client = 5\n",
     "3:26: key \"max_streams_per_client\" in [api] is 5, more than max_streams (4): one client "
     "may hold at most every streaming slot; lower it or raise max_streams"},
    {"PerClientDefaultOverTotal", "[api]\nmax_streams = 4\n",
     "2:15: key \"max_streams_per_client\" in [api] is 16, more than max_streams (4): one "
     "client may hold at most every streaming slot; lower it or raise max_streams"},
    {"PluginsNotATable", "plugins = 5\n",
     "1:11: key \"plugins\" must be a table of [plugins.\"<type>.<id>\"] sections, not an "
     "integer"},
    {"PluginSectionNotATable", "[plugins]\n\"strata.snapshotter.v1.overlayfs\" = 5\n",
     "2:37: plugin section [plugins.\"strata.snapshotter.v1.overlayfs\"] must be a table, not an "
     "integer"},
    {"UnquotedPluginUri", "[plugins.strata.snapshotter.v1.overlayfs]\nsync_remove = true\n",
     "1:10: plugin section \"strata\" is not named by a plugin URI: write "
     "[plugins.\"<type>.<id>\"] with the URI in quotes, e.g. "
     "[plugins.\"strata.snapshotter.v1.overlayfs\"]"},
    {"FirstErrorInFileOrder", "state = 5\nroot = 5\n",
     "1:9: key \"state\" must be a string, not an integer"},
};

INSTANTIATE_TEST_SUITE_P(Config, ParseErrors, ::testing::ValuesIn(bad_configs),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ParseSyntax, SyntaxErrorsCarryThePositionAndTomlppsDescription) {
  testing::ConfigFiles files;
  auto cfg = files.load("root = \"/srv\"\nstate = = 1\n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code(), Code::InvalidArgument);
  EXPECT_THAT(cfg.error().message(), StartsWith(files.path("config.toml") + ":2:9: "));
  EXPECT_THAT(cfg.error().message(), HasSubstr("could not determine value type"));
}

TEST(ParseSyntax, RedefinedKeysAreSyntaxErrors) {
  testing::ConfigFiles files;
  auto cfg = files.load("root = \"/a\"\nroot = \"/b\"\n");
  ASSERT_FALSE(cfg.ok());
  EXPECT_THAT(cfg.error().message(), StartsWith(files.path("config.toml") + ":2:"));
  EXPECT_THAT(cfg.error().message(), HasSubstr("root"));
}

TEST(ParseConfig, UsesTheSourceNameGiven) {
  auto cfg = parse_config("root = 1\n", "inline.toml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message(),
            "inline.toml:1:8: key \"root\" must be a string, not an integer");
}

TEST(ParseConfig, ReadsEveryKey) {
  testing::ConfigFiles files;
  auto cfg = files.load(R"(
version = 1
root = "/srv/strata/data"
state = "/srv/strata/run"
plugin_dirs = ["/opt/strata/plugins"]
disabled_plugins = ["strata.snapshotter.v1.native"]
required_plugins = ["strata.snapshotter.v1.overlayfs", "strata.service.v1.diff"]

[api]
address = "/srv/strata/run/api.sock"
max_body_bytes = 4096

[plugins."strata.snapshotter.v1.overlayfs"]
mount_options = ["index=off"]

[plugins."strata.service.v1.diff"]
default = ["walking"]
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->version, 1);
  EXPECT_EQ(cfg->root, "/srv/strata/data");
  EXPECT_EQ(cfg->state, "/srv/strata/run");
  EXPECT_EQ(cfg->plugin_dirs, std::vector<std::string>{"/opt/strata/plugins"});
  EXPECT_EQ(cfg->disabled_plugins, std::vector<std::string>{"strata.snapshotter.v1.native"});
  EXPECT_EQ(cfg->required_plugins, (std::vector<std::string>{"strata.snapshotter.v1.overlayfs",
                                                             "strata.service.v1.diff"}));
  EXPECT_EQ(cfg->api.address, "/srv/strata/run/api.sock");
  EXPECT_EQ(cfg->api.max_body_bytes, 4096u);
  ASSERT_EQ(cfg->plugins.size(), 2u);
  const auto& overlay = cfg->plugins.at("strata.snapshotter.v1.overlayfs");
  EXPECT_EQ(overlay.file, files.path("config.toml"));
  EXPECT_EQ(overlay.table.source().begin.line, 13u);
  EXPECT_TRUE(overlay.table["mount_options"].is_array());
  EXPECT_EQ(cfg->source, files.path("config.toml"));
}

TEST(ParseConfig, EmptyFileIsTheDefaults) {
  auto cfg = parse_config("", "empty.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  testing::expect_same_config(*cfg, Config{});
  EXPECT_EQ(cfg->source, "empty.toml");
}

TEST(ParseConfig, EmptyListsAreAllowed) {
  auto cfg = parse_config("plugin_dirs = []\n", "x.toml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_TRUE(cfg->plugin_dirs.empty());
}

} // namespace
} // namespace strata::host
