#pragma once
// `strata plugins ls`: filters and the human renderings of plugin records.

#include "strata/plugin/plugin_record.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace strata::cli {

/// One FILTER argument: comma-separated conditions that must all hold, e.g.
/// "type==strata.snapshotter.v1,status!=ok". Several FILTER arguments match when any does.
struct PluginFilter {
  struct Condition {
    std::string field; ///< "type", "id" or "status"
    bool equal = true; ///< "==" (true) or "!=" (false)
    std::string value;
  };
  std::vector<Condition> conditions;
};

/// Parses one FILTER argument; InvalidArgument naming the bad condition and the accepted form.
Result<PluginFilter> parse_plugin_filter(std::string_view text);

/// True when `filters` is empty or any of them matches `record`.
bool matches(const std::vector<PluginFilter>& filters, const PluginRecord& record);

/// PLATFORMS cell: "-" when none, else the sorted, de-duplicated "os/arch[/variant]" list.
std::string platforms_cell(const Meta& meta);

/// TYPE ID PLATFORMS STATUS, aligned.
std::string plugins_table(const std::vector<PluginRecord>& records);

/// One block per plugin with every field, blocks separated by a blank line.
std::string plugins_detailed(const std::vector<PluginRecord>& records);

} // namespace strata::cli
