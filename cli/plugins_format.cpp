#include "plugins_format.hpp"

#include "table.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

namespace strata::cli {
namespace {

// A label column wide enough for the longest label, so the values line up.
constexpr std::size_t label_width = 14;

void add_field(std::string& out, std::string_view label, std::string_view value) {
  out += fmt::format("{:<{}}{}\n", std::string(label) + ":", label_width, value);
}

// Several values: the first on the label's line, the others aligned under it.
void add_list(std::string& out, std::string_view label, const std::vector<std::string>& values) {
  if (values.empty())
    return add_field(out, label, "-");
  add_field(out, label, values.front());
  for (std::size_t i = 1; i < values.size(); ++i)
    out += fmt::format("{:<{}}{}\n", "", label_width, values[i]);
}

} // namespace

Result<PluginFilter> parse_plugin_filter(std::string_view text) {
  return Filters::parse({std::string(text)}, {"type", "id", "status"});
}

bool matches(const std::vector<PluginFilter>& filters, const host::PluginRecord& record) {
  return filters.empty() || std::any_of(filters.begin(), filters.end(), [&](const Filters& f) {
           return f.matches({}, [&](std::string_view field) -> std::optional<std::string> {
             if (field == "type")
               return record.type;
             if (field == "id")
               return record.id;
             return std::string(to_string(record.status));
           });
         });
}

std::string platforms_cell(const Meta& meta) {
  if (meta.platforms.empty())
    return "-";
  std::vector<std::string> names;
  for (const auto& p : meta.platforms)
    names.push_back(p.to_string());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return fmt::format("{}", fmt::join(names, ","));
}

std::string plugins_table(const std::vector<host::PluginRecord>& records) {
  Table table({"TYPE", "ID", "PLATFORMS", "STATUS"});
  for (const auto& r : records)
    // A file refused before its descriptor was read has no type yet.
    table.add_row({r.type.empty() ? "-" : r.type, r.id, platforms_cell(r.meta),
                   std::string(to_string(r.status))});
  return table.render();
}

std::string plugins_detailed(const std::vector<host::PluginRecord>& records) {
  std::string out;
  for (const auto& r : records) {
    if (!out.empty())
      out += '\n';
    add_field(out, "Type", r.type.empty() ? "-" : r.type);
    add_field(out, "ID", r.id);
    add_field(out, "Version", r.version.empty() ? "-" : r.version);
    add_list(out, "Requires", r.requires_list);
    add_field(out, "Platforms", platforms_cell(r.meta));
    std::vector<std::string> exports;
    for (const auto& [key, value] : r.meta.exports)
      exports.push_back(key + "=" + value);
    add_list(out, "Exports", exports);
    add_field(out, "Capabilities",
              r.meta.capabilities.empty()
                  ? std::string("-")
                  : fmt::format("{}", fmt::join(r.meta.capabilities, ", ")));
    add_field(out, "Status", to_string(r.status));
    if (r.status != host::PluginStatus::Ok) {
      add_field(out, "Reason", r.reason.empty() ? "-" : r.reason);
      if (!r.error_code.empty())
        add_field(out, "Error code", r.error_code);
    }
    add_field(out, "File", r.file.empty() ? "-" : r.file);
  }
  return out;
}

} // namespace strata::cli
