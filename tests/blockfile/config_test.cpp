// The blockfile config: defaults, sizes, and errors that name the key.
#include "config.hpp"

#include <gtest/gtest.h>

#include <strata/plugin/json.hpp>

namespace strata::blockfile {
namespace {

json::object section(std::string_view toml_like_json) {
  return json::parse(toml_like_json).as_object();
}

TEST(BlockfileConfig, Defaults) {
  auto c = decode({});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->fs_type, FsType::Ext4);
  EXPECT_EQ(c->size, 1ll << 30);
  EXPECT_EQ(c->mount_options, std::vector<std::string>{"loop"});
  EXPECT_FALSE(c->recreate_scratch);
  EXPECT_EQ(c->scratch_file, "");
}

TEST(BlockfileConfig, DefaultSectionDecodes) {
  // What the host merges for an operator who wrote nothing: the documented defaults.
  auto c = decode(section(R"({"scratch_file": "", "fs_type": "ext4", "size": "1GiB",
                              "mount_options": ["loop"], "recreate_scratch": false})"));
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->size, 1ll << 30);
}

TEST(BlockfileConfig, LoopIsAppendedWhenMissing) {
  auto c = decode(section(R"({"mount_options": ["direct-io", "sync"]})"));
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->mount_options, (std::vector<std::string>{"direct-io", "sync", "loop"}));
  c = decode(section(R"({"mount_options": ["loop", "direct-io"]})"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->mount_options, (std::vector<std::string>{"loop", "direct-io"}));
}

TEST(BlockfileConfig, Sizes) {
  EXPECT_EQ(*parse_size("4096"), 4096);
  EXPECT_EQ(*parse_size("16M"), 16ll << 20);
  EXPECT_EQ(*parse_size("16MiB"), 16ll << 20);
  EXPECT_EQ(*parse_size("2g"), 2ll << 30);
  EXPECT_EQ(*parse_size("8K"), 8192);
  EXPECT_EQ(*parse_size("1TiB"), 1ll << 40);
  for (const char* bad : {"", "M", "16MB", "16 MiB", "0", "-1", "16X", "99999999999T"})
    EXPECT_FALSE(parse_size(bad).ok()) << bad;
  auto c = decode(section(R"({"size": 16777216})"));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size, 16ll << 20);
  c = decode(section(R"({"fs_type": "xfs", "size": "300MiB"})"));
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->fs_type, FsType::Xfs);
}

TEST(BlockfileConfig, ErrorsNameTheKey) {
  struct Case {
    const char* json;
    const char* in_message;
  } cases[] = {
      {R"({"scratch": "x"})", "unknown key \"scratch\""},
      {R"({"fs_type": "btrfs"})", "fs_type = \"btrfs\": must be \"ext4\" or \"xfs\""},
      {R"({"fs_type": 4})", "fs_type = 4"},
      {R"({"size": "16MB"})", "size = \"16MB\""},
      {R"({"size": -1})", "size = -1"},
      {R"({"size": true})", "size = true"},
      {R"({"scratch_file": "rel/img"})", "scratch_file = \"rel/img\": must be an absolute path"},
      {R"({"mount_options": ["loop", "ro"]})", "mount_options"},
      {R"({"mount_options": "loop"})", "mount_options = \"loop\": must be a list"},
      {R"({"recreate_scratch": "yes"})", "recreate_scratch = \"yes\": must be true or false"},
      {R"({"fs_type": "xfs", "size": "16MiB"})", "mkfs.xfs needs at least 300MiB"},
  };
  for (const Case& c : cases) {
    auto r = decode(section(c.json));
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_EQ(r.error().code(), Code::InvalidArgument) << c.json;
    EXPECT_NE(r.error().message().find(c.in_message), std::string::npos)
        << c.json << ": " << r.error().message();
    EXPECT_NE(r.error().message().find("strata.snapshotter.v1.blockfile"), std::string::npos);
  }
}

} // namespace
} // namespace strata::blockfile
