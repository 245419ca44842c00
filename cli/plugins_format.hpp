#pragma once
// `strata plugins ls`: filters and the human renderings of plugin records.

#include "record/plugin_record.hpp"
#include "strata/plugin/filters.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace strata::cli {

/// One FILTER argument, in the SDK's walk-filter syntax (strata/plugin/filters.hpp) over the fields
/// type, id and status: comma-separated conditions that must all hold, e.g.
/// "type==strata.snapshotter.v1,status!=ok". Several FILTER arguments match when any does.
using PluginFilter = Filters;

/// Parses one FILTER argument; InvalidArgument naming the filter, the position and what was
/// expected there (or the fields there are).
Result<PluginFilter> parse_plugin_filter(std::string_view text);

/// True when `filters` is empty or any of them matches `record`.
bool matches(const std::vector<PluginFilter>& filters, const host::PluginRecord& record);

/// PLATFORMS cell: "-" when none, else the sorted, de-duplicated "os/arch[/variant]" list.
std::string platforms_cell(const Meta& meta);

/// TYPE ID PLATFORMS STATUS, aligned.
std::string plugins_table(const std::vector<host::PluginRecord>& records);

/// One block per plugin with every field, blocks separated by a blank line.
std::string plugins_detailed(const std::vector<host::PluginRecord>& records);

} // namespace strata::cli
