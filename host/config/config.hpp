#pragma once
// The daemon's configuration: the TOML file, its embedded default, and each plugin's section.

#include "strata/plugin/error.hpp"
#include "strata/plugin/json.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace strata::host {

/// Where the daemon looks when no --config is given.
inline constexpr std::string_view default_config_path = "/etc/strata/config.toml";
/// Config::source when no file was read.
inline constexpr std::string_view embedded_source_name = "<embedded defaults>";

/// [api]: the HTTP server on a unix socket.
struct ApiConfig {
  std::string address = "/run/strata/strata.sock";
  std::uint64_t max_body_bytes = std::uint64_t{1} << 20;
  /// Client connections served at once. More are answered 503 (see api::ServerOptions); stratad
  /// lowers it, with a warning, to half its RLIMIT_NOFILE.
  std::uint64_t max_connections = 512;
  /// Requests of streaming routes (uploads, downloads, imports, applies) served at once.
  std::uint64_t max_streams = 64;
  /// Of those, how many one client process (by SO_PEERCRED pid) may hold; at most max_streams.
  std::uint64_t max_streams_per_client = 16;
  /// A streaming transfer that moves fewer bytes than this in transfer_window_seconds of waiting
  /// on its client is cut off; 0 turns the check off.
  std::uint64_t min_transfer_bytes = 16384;
  std::uint64_t transfer_window_seconds = 10;
  /// Threads that run the handlers of plain routes, whose plugin calls may block (removing a
  /// snapshot), so the I/O threads stay free to answer /v1/health.
  std::uint64_t workers = 8;
};

/// The operator's [plugins."<uri>"] table, kept raw until the plugin's defaults are known.
/// Source positions live in the nodes, and toml++ drops them when a node is copied (keys keep
/// theirs), so errors about a copied Config fall back to the key's position.
struct PluginSection {
  toml::table table;
  std::string file; ///< the file the section came from
};

/// The whole config file. Every path is absolute.
struct Config {
  std::int64_t version = 1;
  std::string root = "/var/lib/strata";
  std::string state = "/run/strata";
  std::vector<std::string> plugin_dirs = {"/usr/lib/strata/plugins",
                                          "/usr/local/lib/strata/plugins"};
  std::vector<std::string> disabled_plugins; ///< URIs "type.id"
  std::vector<std::string> required_plugins; ///< URIs "type.id"
  ApiConfig api;
  std::map<std::string, PluginSection> plugins;           ///< keyed by URI
  std::string source = std::string(embedded_source_name); ///< file path or "<embedded defaults>"
};

/// The default config as TOML, commented for operators; parses to exactly `Config{}`.
std::string_view embedded_default_config();

/// Parses and validates `text`; `source_name` names it in errors and becomes Config::source.
/// Every error is InvalidArgument starting "SOURCE:LINE:COLUMN: ": syntax errors, unknown keys
/// (with the known ones), wrong types, version other than 1, relative paths, root equal to
/// state, list entries that are not "type.id" URIs, [api] limits out of their range (each message
/// gives the range), and plugin sections that are not tables. Plugin sections are kept raw;
/// plugin_config() validates them.
Result<Config> parse_config(std::string_view text, const std::string& source_name);

/// Loads `explicit_path` (NotFound when missing), else `default_path` when it exists, else the
/// embedded default. A file that exists but cannot be read is PermissionDenied.
Result<Config> load_config(const std::optional<std::string>& explicit_path,
                           const std::string& default_path);
/// load_config(explicit_path, default_config_path).
Result<Config> load_config(const std::optional<std::string>& explicit_path);

/// A plugin's effective config: `defaults_toml` (Registration::config_defaults) with the
/// operator's [plugins."uri"] keys laid over it. InvalidArgument with the operator's position
/// for a key the defaults lack, a type that differs from the default's (an integer may stand for
/// a float), or a section for a plugin that takes no config. Internal when `defaults_toml` does
/// not parse, which is the plugin's bug. Dates and times become RFC 3339 strings.
Result<json::object> plugin_config(const Config& cfg, const std::string& uri,
                                   const std::string& defaults_toml);

/// The effective config as TOML: top-level keys, [api], then [plugins."uri"] for every
/// (uri, defaults TOML) pair in order, merged with the operator's section; then sections for
/// plugins that are not in `plugin_defaults`, as given, under "# not loaded". Problems that
/// plugin_config() would report become comments, so the text always parses with parse_config.
std::string dump_config(const Config& cfg,
                        const std::vector<std::pair<std::string, std::string>>& plugin_defaults);

} // namespace strata::host
