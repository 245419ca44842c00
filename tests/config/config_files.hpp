#pragma once
// Config files in a private temporary directory, so that error messages carry real file names,
// and a field-by-field comparison of two configs.

#include "config/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace strata::host::testing {

class ConfigFiles {
public:
  ConfigFiles() {
    std::string pattern = (std::filesystem::path(::testing::TempDir()) / "strata-config-XXXXXX");
    if (!mkdtemp(pattern.data()))
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
    dir_ = pattern;
  }
  ~ConfigFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  ConfigFiles(const ConfigFiles&) = delete;
  ConfigFiles& operator=(const ConfigFiles&) = delete;

  /// Writes `text` to `name` in the directory and returns the file's path.
  std::string write(const std::string& name, std::string_view text) const {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  /// A path in the directory; the file need not exist.
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  /// Writes `text` to config.toml and loads it as if given with --config.
  Result<Config> load(std::string_view text) const {
    return load_config(write("config.toml", text), path("absent.toml"));
  }

private:
  std::filesystem::path dir_;
};

/// Every field but `source`; plugin sections compare by value (toml++ ignores positions).
inline void expect_same_config(const Config& a, const Config& b) {
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.root, b.root);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.plugin_dirs, b.plugin_dirs);
  EXPECT_EQ(a.disabled_plugins, b.disabled_plugins);
  EXPECT_EQ(a.required_plugins, b.required_plugins);
  EXPECT_EQ(a.api.address, b.api.address);
  EXPECT_EQ(a.api.max_body_bytes, b.api.max_body_bytes);
  EXPECT_EQ(a.api.max_connections, b.api.max_connections);
  EXPECT_EQ(a.api.max_streams, b.api.max_streams);
  EXPECT_EQ(a.api.max_streams_per_client, b.api.max_streams_per_client);
  EXPECT_EQ(a.api.min_transfer_bytes, b.api.min_transfer_bytes);
  EXPECT_EQ(a.api.transfer_window_seconds, b.api.transfer_window_seconds);
  EXPECT_EQ(a.api.workers, b.api.workers);
  ASSERT_EQ(a.plugins.size(), b.plugins.size());
  for (auto ia = a.plugins.begin(), ib = b.plugins.begin(); ia != a.plugins.end(); ++ia, ++ib) {
    EXPECT_EQ(ia->first, ib->first);
    EXPECT_TRUE(ia->second.table == ib->second.table) << ia->first << ":\n"
                                                      << ia->second.table << "\nvs\n"
                                                      << ib->second.table;
  }
}

} // namespace strata::host::testing
