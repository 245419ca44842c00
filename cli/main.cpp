// strata: the command line client of stratad, shaped like containerd's ctr.

#include "commands.hpp"

#include <cstdlib>
#include <iostream>

namespace strata::cli {

int report(const Error& error) {
  std::cerr << "strata: error: " << to_string(error.code()) << ": " << error.message() << '\n';
  return exit_error;
}

int remove_each(const std::vector<std::string>& names,
                const std::function<Status(const std::string&)>& remove) {
  int rc = exit_ok;
  for (const auto& name : names) {
    if (auto st = remove(name); !st) {
      rc = report(st.error());
      continue;
    }
    std::cout << name << '\n';
  }
  return rc;
}

namespace {

constexpr const char* default_address = "/run/strata/strata.sock";

int run(int argc, char** argv) {
  CLI::App app("strata: manage the snapshotter and differ plugins of stratad, the strata daemon",
               "strata");
  app.set_version_flag("--version", "strata " STRATA_VERSION);
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "strata: usage error: " + std::string(e.what()) +
           "\nRun 'strata --help' (or 'strata COMMAND --help') for usage.\n";
  });
  app.footer("Environment:\n"
             "  STRATA_ADDRESS   stratad's socket when --address is not given\n\n"
             "Exit codes: 0 done, 1 failed (reason on stderr), 2 wrong command line.\n\n"
             "Examples:\n"
             "  strata plugins ls\n"
             "  strata snapshots ls\n"
             "  strata --address /tmp/strata.sock plugins ls -d status!=ok\n"
             "  strata plugin inspect ./vendor-snapshotter.so");

  Globals globals{default_address};
  app.add_option("-a,--address", globals.address, "stratad's unix socket")
      ->envname("STRATA_ADDRESS")
      ->capture_default_str();

  Outcome outcome;
  add_plugins_command(app, globals, outcome);
  add_content_command(app, globals, outcome);
  add_diff_command(app, globals, outcome);
  add_image_command(app, globals, outcome);
  add_snapshots_command(app, globals, outcome);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; every other parse error is a usage error.
    return app.exit(e) == 0 ? exit_ok : exit_usage;
  }
  return outcome.exit_code;
}

} // namespace
} // namespace strata::cli

int main(int argc, char** argv) {
  try {
    return strata::cli::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "strata: error: Internal: " << e.what() << '\n';
    return strata::cli::exit_error;
  }
}
