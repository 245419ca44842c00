// `strata plugins ls`: what stratad loaded, as a table, detailed blocks, ids or JSON.

#include "client.hpp"
#include "commands.hpp"
#include "json_output.hpp"
#include "plugins_format.hpp"

#include <iostream>
#include <memory>

namespace strata::cli {
namespace {

struct LsOptions {
  bool detailed = false;
  bool json = false;
  bool quiet = false;
  std::vector<std::string> filters;
};

int run_ls(const Globals& globals, const LsOptions& options) {
  std::vector<PluginFilter> filters;
  for (const auto& text : options.filters)
    filters.push_back(*parse_plugin_filter(text)); // validated while parsing the command line

  auto listing = Client(globals.address).get("/v1/plugins");
  if (!listing)
    return report(listing.error());
  if (!listing->is_array())
    return report(internal_error("GET /v1/plugins: stratad answered " +
                                 json::serialize(*listing).substr(0, 80) +
                                 " where a list of plugins was expected"));

  // Records are parsed for filtering; --json prints the elements as they came.
  json::array raw;
  std::vector<host::PluginRecord> records;
  for (const auto& item : listing->get_array()) {
    auto record = from_json<host::PluginRecord>(item, "GET /v1/plugins: plugin record");
    if (!record)
      return report(internal_error(record.error().message()));
    if (!matches(filters, *record))
      continue;
    raw.push_back(item);
    records.push_back(std::move(*record));
  }

  if (options.json)
    print_json(std::cout, raw);
  else if (options.quiet)
    for (const auto& r : records)
      std::cout << r.id << '\n';
  else if (options.detailed)
    std::cout << plugins_detailed(records);
  else
    std::cout << plugins_table(records);
  return exit_ok;
}

} // namespace

void add_plugins_command(CLI::App& app, const Globals& globals, Outcome& outcome) {
  auto* plugins = app.add_subcommand("plugins", "List stratad's plugins; inspect plugin files");
  plugins->alias("plugin");
  plugins->require_subcommand(1);
  plugins->footer("Examples:\n"
                  "  strata plugins ls\n"
                  "  strata plugin inspect /usr/lib/strata/plugins/overlay.so");

  auto options = std::make_shared<LsOptions>();
  auto* ls = plugins->add_subcommand(
      "ls", "List the plugins stratad loaded: type, id, platforms and status (ok, skip, error)");
  ls->alias("list");
  auto* detailed = ls->add_flag("-d,--detailed", options->detailed,
                                "Every field of each plugin, with why it was skipped or failed");
  auto* as_json = ls->add_flag("--json", options->json, "The records as stratad returned them");
  ls->add_flag("-q,--quiet", options->quiet, "Only the plugin ids")
      ->excludes(detailed)
      ->excludes(as_json);
  detailed->excludes(as_json);
  ls->add_option("FILTER", options->filters, "type==X, id==X or status==X (also != and ~=)")
      ->type_name("")
      ->check([](const std::string& text) -> std::string {
        auto f = parse_plugin_filter(text);
        return f ? std::string() : f.error().message();
      });
  ls->footer("Filters: FIELD==VALUE, FIELD!=VALUE or FIELD~=REGEX with FIELD one of type, id,\n"
             "status; commas join conditions that must all hold; a plugin is shown when any\n"
             "FILTER matches.\n\n"
             "Examples:\n"
             "  strata plugins ls                        # table of every plugin\n"
             "  strata plugins ls status!=ok -d          # why plugins were skipped or failed\n"
             "  strata plugins ls type==strata.snapshotter.v1\n"
             "  strata plugins ls -q id==overlayfs,status==ok\n"
             "  strata plugins ls --json | jq '.[].id'");
  ls->callback([&globals, &outcome, options] { outcome.exit_code = run_ls(globals, *options); });

  add_inspect_command(*plugins, outcome);
}

} // namespace strata::cli
