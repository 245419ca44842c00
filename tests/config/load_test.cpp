// Which file load_config reads, and what happens when it cannot.

#include "config_files.hpp"

#include <gmock/gmock.h>

namespace strata::host {
namespace {

using ::testing::HasSubstr;

TEST(LoadConfig, ExplicitPathThatDoesNotExistIsNotFound) {
  testing::ConfigFiles files;
  auto missing = files.path("missing.toml");
  files.write("default.toml", "root = \"/srv/strata\"\n");
  auto cfg = load_config(missing, files.path("default.toml"));
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code(), Code::NotFound);
  EXPECT_EQ(cfg.error().message(),
            "config file " + missing + " does not exist: create it or drop --config");
}

TEST(LoadConfig, ExplicitPathIsReadAndNamed) {
  testing::ConfigFiles files;
  auto path = files.write("mine.toml", "root = \"/srv/strata\"\n");
  auto cfg = load_config(path, files.path("absent.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->root, "/srv/strata");
  EXPECT_EQ(cfg->source, path);
}

TEST(LoadConfig, DefaultPathIsReadWhenItExists) {
  testing::ConfigFiles files;
  auto path = files.write("default.toml", "state = \"/run/other\"\n");
  auto cfg = load_config(std::nullopt, path);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->state, "/run/other");
  EXPECT_EQ(cfg->source, path);
}

TEST(LoadConfig, EmbeddedDefaultsWhenTheDefaultPathIsMissing) {
  testing::ConfigFiles files;
  auto cfg = load_config(std::nullopt, files.path("absent.toml"));
  ASSERT_TRUE(cfg.ok()) << cfg.error().message();
  EXPECT_EQ(cfg->source, "<embedded defaults>");
}

TEST(LoadConfig, ADirectoryIsNotAConfigFile) {
  testing::ConfigFiles files;
  auto dir = files.path("");
  auto cfg = load_config(dir, files.path("absent.toml"));
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().code(), Code::InvalidArgument);
  EXPECT_THAT(cfg.error().message(), HasSubstr("is a directory"));
}

TEST(LoadConfig, ErrorsInTheDefaultFileAreNotHidden) {
  testing::ConfigFiles files;
  auto path = files.write("default.toml", "root = 1\n");
  auto cfg = load_config(std::nullopt, path);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.error().message(), path + ":1:8: key \"root\" must be a string, not an integer");
}

} // namespace
} // namespace strata::host
