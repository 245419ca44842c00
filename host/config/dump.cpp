#include "config/config.hpp"
#include "config/diagnostics.hpp"
#include "config/plugin_section.hpp"

#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace strata::host {

namespace {

using namespace config_detail;

std::string text(const toml::node& n) {
  std::ostringstream out;
  out << toml::toml_formatter(n, output_flags);
  return out.str();
}

std::string string_array(const std::vector<std::string>& values) {
  toml::array a;
  for (const auto& v : values)
    a.push_back(v);
  return text(a);
}

// The section under its full header: formatting it inside a plugins table makes toml++ write
// [plugins."uri"] and [plugins."uri".sub] headers, quoting the URI.
std::string section(const std::string& uri, const toml::table& table) {
  toml::table plugins;
  plugins.insert(uri, table);
  toml::table doc;
  doc.insert("plugins", std::move(plugins));
  return text(doc) + "\n";
}

// Messages can quote a toml++ description, which may span lines; a comment may not.
std::string comment(std::string message) {
  for (auto& c : message)
    if (c == '\n' || c == '\r')
      c = ' ';
  return "# " + message + "\n";
}

} // namespace

std::string dump_config(const Config& cfg,
                        const std::vector<std::pair<std::string, std::string>>& plugin_defaults) {
  std::ostringstream out;
  out << "version = " << cfg.version << "\n";
  out << "root = " << toml_quoted(cfg.root) << "\n";
  out << "state = " << toml_quoted(cfg.state) << "\n";
  out << "plugin_dirs = " << string_array(cfg.plugin_dirs) << "\n";
  out << "disabled_plugins = " << string_array(cfg.disabled_plugins) << "\n";
  out << "required_plugins = " << string_array(cfg.required_plugins) << "\n";
  out << "\n[api]\n";
  out << "address = " << toml_quoted(cfg.api.address) << "\n";
  out << "max_body_bytes = " << cfg.api.max_body_bytes << "\n";
  out << "max_connections = " << cfg.api.max_connections << "\n";
  out << "max_streams = " << cfg.api.max_streams << "\n";
  out << "max_streams_per_client = " << cfg.api.max_streams_per_client << "\n";
  out << "min_transfer_bytes = " << cfg.api.min_transfer_bytes << "\n";
  out << "transfer_window_seconds = " << cfg.api.transfer_window_seconds << "\n";
  out << "workers = " << cfg.api.workers << "\n";

  std::set<std::string> dumped;
  for (const auto& [uri, defaults] : plugin_defaults) {
    if (!dumped.insert(uri).second)
      continue;
    out << "\n";
    auto given = cfg.plugins.find(uri);
    auto effective = effective_section(cfg, uri, defaults);
    if (!effective) {
      // Dumped as the operator wrote it, so that the output still parses and the error can be
      // found again with `stratad config check`.
      out << comment("error: " + effective.error().message());
      if (given != cfg.plugins.end())
        out << section(uri, given->second.table);
    } else if (effective->empty()) {
      out << comment("plugin " + uri + " takes no configuration");
    } else {
      out << section(uri, *effective);
    }
  }
  for (const auto& [uri, s] : cfg.plugins) {
    if (dumped.count(uri))
      continue;
    out << "\n" << comment("not loaded") << section(uri, s.table);
  }
  return out.str();
}

} // namespace strata::host
