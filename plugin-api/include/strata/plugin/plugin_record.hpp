#pragma once
/// \file
/// PluginRecord: what the host reports about one plugin (GET /v1/plugins, `strata plugins ls`).

#include "strata/plugin/meta.hpp"

#include <string>
#include <vector>

namespace strata {

/// Load outcome of a plugin.
enum class PluginStatus { Ok, Skip, Error };

/// "ok", "skip" or "error".
std::string_view to_string(PluginStatus s) noexcept;

/// One row of the plugin listing.
struct PluginRecord {
  std::string type;
  std::string id;
  std::string version;
  std::vector<std::string> requires_list;
  Meta meta;
  PluginStatus status = PluginStatus::Error;
  std::string reason;     ///< why skip/error; empty when ok
  std::string error_code; ///< the Code name when status is error ("Internal", ...)
  std::string file;       ///< the shared object it came from
  /// "<type>.<id>".
  std::string uri() const { return type + "." + id; }
  bool operator==(const PluginRecord&) const = default;
};

/// JSON: {"type","id","version","requires":[],"platforms":[],"exports":{},"capabilities":[],
/// "status","reason","error_code","file"}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const PluginRecord& r);
PluginRecord tag_invoke(const json::value_to_tag<PluginRecord>&, const json::value& jv);

} // namespace strata
