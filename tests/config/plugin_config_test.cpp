// plugin_config: a plugin's declared defaults with the operator's section laid over them.

#include "config_files.hpp"

#include <gmock/gmock.h>

namespace strata::host {
namespace {

using ::testing::HasSubstr;

const std::string overlay = "strata.snapshotter.v1.overlayfs";
const std::string overlay_defaults = R"(
root_path = ""
sync_remove = false
mount_options = []
ratio = 0.5
)";

class PluginConfig : public ::testing::Test {
protected:
  // Loads `text` and returns plugin_config for `uri`; the config must be valid.
  Result<json::object> section(std::string_view text, const std::string& uri,
                               const std::string& defaults) {
    auto cfg = files.load(text);
    if (!cfg.ok()) {
      ADD_FAILURE() << cfg.error().message();
      return cfg.error();
    }
    return plugin_config(*cfg, uri, defaults);
  }

  std::string file() const { return files.path("config.toml"); }

  testing::ConfigFiles files;
};

TEST_F(PluginConfig, NoSectionGivesTheDefaults) {
  auto c = section("", overlay, overlay_defaults);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, (json::object{{"root_path", ""},
                              {"sync_remove", false},
                              {"mount_options", json::array{}},
                              {"ratio", 0.5}}));
}

TEST_F(PluginConfig, KeysGivenOverrideAndTheRestKeepTheirDefaults) {
  auto c = section(R"(
[plugins."strata.snapshotter.v1.overlayfs"]
sync_remove = true
mount_options = ["index=off", "metacopy=on"]
)",
                   overlay, overlay_defaults);
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, (json::object{{"root_path", ""},
                              {"sync_remove", true},
                              {"mount_options", json::array{"index=off", "metacopy=on"}},
                              {"ratio", 0.5}}));
}

TEST_F(PluginConfig, UnknownKeyNamesPositionAndKnownKeys) {
  auto c = section("[plugins.\"strata.snapshotter.v1.overlayfs\"]\nsync_remov = true\n", overlay,
                   overlay_defaults);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::InvalidArgument);
  EXPECT_EQ(c.error().message(),
            file() + ":2:1: unknown key \"sync_remov\" in [plugins."
                     "\"strata.snapshotter.v1.overlayfs\"]; known keys: mount_options, ratio, "
                     "root_path, sync_remove; did you mean \"sync_remove\"?");
}

TEST_F(PluginConfig, WrongTypeNamesBothTypes) {
  auto c = section("[plugins.\"strata.snapshotter.v1.overlayfs\"]\nsync_remove = \"yes\"\n",
                   overlay, overlay_defaults);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::InvalidArgument);
  EXPECT_EQ(c.error().message(), file() + ":2:15: key \"sync_remove\" in [plugins."
                                          "\"strata.snapshotter.v1.overlayfs\"] must be a "
                                          "boolean, not a string");
}

TEST_F(PluginConfig, FloatWhereAnIntegerIsExpectedIsRejected) {
  auto c = section("[plugins.\"a.b\"]\nworkers = 2.0\n", "a.b", "workers = 4\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(),
            file() + ":2:11: key \"workers\" in [plugins.\"a.b\"] must be an integer, not a float");
}

TEST_F(PluginConfig, IntegerIsAcceptedWhereAFloatIsExpected) {
  auto c = section("[plugins.\"a.b\"]\nratio = 1\nweights = [1, 2.5]\n", "a.b",
                   "ratio = 0.5\nweights = [0.1]\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->at("ratio").is_double());
  EXPECT_EQ(c->at("ratio").as_double(), 1.0);
  EXPECT_EQ(c->at("weights"), (json::array{1.0, 2.5}));
  EXPECT_TRUE(c->at("weights").as_array()[0].is_double());
}

TEST_F(PluginConfig, ArrayElementsMustMatchTheDefaultElementType) {
  auto c = section("[plugins.\"strata.service.v1.diff\"]\ndefault = [\"walking\", 3]\n",
                   "strata.service.v1.diff", "default = [\"walking\"]\nsync_fs = false\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(),
            file() + ":2:23: key \"default\" in [plugins.\"strata.service.v1.diff\"] must be an "
                     "array of strings; element 2 is an integer");
}

TEST_F(PluginConfig, AnEmptyDefaultArrayAcceptsAnyElements) {
  auto c = section("[plugins.\"a.b\"]\nitems = [\"x\", 1, true]\n", "a.b", "items = []\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(c->at("items"), (json::array{"x", 1, true}));
}

TEST_F(PluginConfig, NestedTablesFollowTheSameRules) {
  const std::string defaults = "[gc]\nenabled = true\ninterval = 60\n";
  auto ok = section("[plugins.\"a.b\".gc]\ninterval = 5\n", "a.b", defaults);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok, (json::object{{"gc", json::object{{"enabled", true}, {"interval", 5}}}}));

  auto bad = section("[plugins.\"a.b\".gc]\nintervall = 5\n", "a.b", defaults);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(),
            file() + ":2:1: unknown key \"intervall\" in [plugins.\"a.b\".gc]; known keys: "
                     "enabled, interval; did you mean \"interval\"?");

  auto not_table = section("[plugins.\"a.b\"]\ngc = 1\n", "a.b", defaults);
  ASSERT_FALSE(not_table.ok());
  EXPECT_EQ(not_table.error().message(),
            file() + ":2:6: key \"gc\" in [plugins.\"a.b\"] must be a table, not an integer");
}

TEST_F(PluginConfig, AnEmptyDefaultTableIsFreeForm) {
  auto c = section(R"(
[plugins."strata.service.v1.diff".stream_processors."io.gzip"]
accepts = ["application/vnd.oci.image.layer.v1.tar+gzip"]
path = "/usr/bin/unpigz"
)",
                   "strata.service.v1.diff", "default = [\"walking\"]\n[stream_processors]\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, (json::object{
                    {"default", json::array{"walking"}},
                    {"stream_processors",
                     json::object{{"io.gzip",
                                   json::object{{"accepts", json::array{"application/vnd.oci."
                                                                        "image.layer.v1.tar+gzip"}},
                                                {"path", "/usr/bin/unpigz"}}}}},
                }));
}

TEST_F(PluginConfig, ArraysOfTablesAreCheckedAgainstTheFirstDefaultTable) {
  const std::string defaults = "[[processors]]\nname = \"gzip\"\nargs = []\n";
  auto ok = section("[[plugins.\"a.b\".processors]]\nname = \"zstd\"\n", "a.b", defaults);
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok,
            (json::object{{"processors",
                           json::array{json::object{{"name", "zstd"}, {"args", json::array{}}}}}}));

  auto bad = section("[[plugins.\"a.b\".processors]]\nname = \"zstd\"\n"
                     "[[plugins.\"a.b\".processors]]\nnmae = \"xz\"\n",
                     "a.b", defaults);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(),
            file() + ":4:1: unknown key \"nmae\" in [plugins.\"a.b\".processors[1]]; known keys: "
                     "args, name; did you mean \"name\"?");
}

TEST_F(PluginConfig, DatesAndTimesBecomeRfc3339Strings) {
  auto c = section("[plugins.\"a.b\"]\nsince = 2024-01-02T03:04:05Z\n", "a.b",
                   "since = 1979-05-27T07:32:00Z\nday = 1979-05-27\nat = 07:32:00\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, (json::object{
                    {"since", "2024-01-02T03:04:05Z"}, {"day", "1979-05-27"}, {"at", "07:32:00"}}));
}

TEST_F(PluginConfig, IntegersAreInt64) {
  auto c = section("[plugins.\"a.b\"]\nbig = 9007199254740993\n", "a.b", "big = 0\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
  ASSERT_TRUE(c->at("big").is_int64());
  EXPECT_EQ(c->at("big").as_int64(), 9007199254740993);
}

TEST_F(PluginConfig, PluginWithoutConfigRejectsASection) {
  auto c = section("\n[plugins.\"a.b\"]\nx = 1\n", "a.b", "");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::InvalidArgument);
  EXPECT_EQ(c.error().message(), file() + ":2:1: [plugins.\"a.b\"]: plugin a.b takes no "
                                          "configuration; remove the section");
}

TEST_F(PluginConfig, PluginWithoutConfigAndNoSectionGetsAnEmptyObject) {
  auto c = section("", "a.b", "");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_TRUE(c->empty());
}

TEST_F(PluginConfig, DefaultsThatDoNotParseAreThePluginsBug) {
  auto c = section("", "a.b", "x = = 1\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code(), Code::Internal);
  EXPECT_THAT(c.error().message(), HasSubstr("plugin a.b"));
  EXPECT_THAT(c.error().message(), HasSubstr("line 1, column 5"));
}

TEST_F(PluginConfig, OtherPluginsSectionsDoNotMatter) {
  auto c = section("[plugins.\"other.one\"]\nanything = 1\n", "a.b", "x = 1\n");
  ASSERT_TRUE(c.ok()) << c.error().message();
  EXPECT_EQ(*c, (json::object{{"x", 1}}));
}

// toml++ drops a node's position when the node is copied but keeps a key's: a copied Config
// still points at the line.
TEST_F(PluginConfig, ACopiedConfigStillReportsTheKeysPosition) {
  auto cfg = files.load("[plugins.\"a.b\"]\nflag = \"yes\"\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  Config copy = *cfg;
  auto c = plugin_config(copy, "a.b", "flag = false\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message(),
            file() + ":2:1: key \"flag\" in [plugins.\"a.b\"] must be a boolean, not a string");
}

} // namespace
} // namespace strata::host
