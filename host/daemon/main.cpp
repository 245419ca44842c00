// stratad: the strata plugin host daemon.
#include "daemon/daemon.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

int main(int argc, char** argv) {
  using strata::host::DaemonOptions;
  CLI::App app{"stratad: loads snapshotter and differ plugins from shared objects and serves "
               "them over HTTP+JSON on a unix socket"};
  app.footer("With no --config, /etc/strata/config.toml is read if it exists, else the embedded\n"
             "defaults (see `stratad config default`).\n\n"
             "Examples:\n"
             "  stratad\n"
             "  stratad --root /tmp/s/root --state /tmp/s/state --address /tmp/s/strata.sock\n"
             "  stratad config check --config /etc/strata/config.toml");
  DaemonOptions opts;
  std::string config, root, state, address, log_level = "info";
  app.add_option("-c,--config", config, "TOML config file")->check(CLI::ExistingFile);
  app.add_option("--root", root, "persistent data directory (overrides config root)");
  app.add_option("--state", state, "runtime state directory (overrides config state)");
  app.add_option("-a,--address", address, "API socket path (overrides [api] address)");
  app.add_option("--plugin-dir", opts.plugin_dirs,
                 "plugin directory; repeatable; replaces config plugin_dirs");
  app.add_option("--plugin-init-timeout", opts.plugin_init_timeout_seconds,
                 "seconds one plugin's init may take before it is reported failed (default 60)")
      ->check(CLI::PositiveNumber);
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.require_subcommand(0, 1);

  auto* cfg_cmd = app.add_subcommand("config", "print or check configuration");
  cfg_cmd->require_subcommand(1);
  cfg_cmd->fallthrough();
  auto* def = cfg_cmd->add_subcommand("default", "print the embedded default config, with every "
                                                 "loaded plugin's default section");
  auto* dump = cfg_cmd->add_subcommand("dump", "print the effective config after merging");
  auto* check = cfg_cmd->add_subcommand("check", "validate the config and every plugin section");
  for (auto* sub : {def, dump, check})
    sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto logger = spdlog::stderr_color_mt("stratad");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (!config.empty())
    opts.config_path = config;
  if (!root.empty())
    opts.root = root;
  if (!state.empty())
    opts.state = state;
  if (!address.empty())
    opts.address = address;

  if (def->parsed())
    return strata::host::config_default(opts);
  if (dump->parsed())
    return strata::host::config_dump(opts);
  if (check->parsed())
    return strata::host::config_check(opts);
  return strata::host::run_daemon(opts);
}
