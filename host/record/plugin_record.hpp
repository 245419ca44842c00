#pragma once
// PluginRecord: what the host reports about one plugin (GET /v1/plugins, `strata plugins ls`).
// Host-side, not in the SDK: plugins never see these records; stratad builds them (host/daemon)
// and the CLI reads them back (cli/), so both link this library and no plugin author installs it.

#include "strata/plugin/json.hpp"
#include "strata/plugin/meta.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace strata::host {

/// Load outcome of a plugin.
enum class PluginStatus { Ok, Skip, Error };

/// "ok", "skip" or "error". Never fails.
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
/// "status","reason","error_code","file"}, flat: Meta's fields sit next to type and id.
void tag_invoke(const json::value_from_tag&, json::value& jv, const PluginRecord& r);
/// The reverse of the above. Throws (read it through strata::from_json, which turns that into
/// InvalidArgument): std::invalid_argument for a missing "type", "id" or "status" or a status
/// other than "ok", "skip" and "error"; Boost.JSON's errors for a field of the wrong type.
PluginRecord tag_invoke(const json::value_to_tag<PluginRecord>&, const json::value& jv);

} // namespace strata::host
