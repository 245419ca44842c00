#pragma once
// Wiring shared by the CLI's commands: global options, exit codes and error reporting.

#include "strata/plugin/error.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

namespace strata::cli {

/// Exit codes scripts can branch on.
enum ExitCode : int {
  exit_ok = 0,    ///< done
  exit_error = 1, ///< the operation failed (message on stderr)
  exit_usage = 2, ///< the command line is wrong
};

/// Options of the `strata` command itself, seen by every subcommand.
struct Globals {
  std::string address; ///< stratad's socket
};

/// Where a command's callback leaves its exit code for main().
struct Outcome {
  int exit_code = exit_ok;
};

/// Prints "strata: error: <Code>: <message>" on stderr; returns exit_error.
int report(const Error& error);

/// Calls `remove` for each name in the order given (so a parent named after its child goes once
/// the child is gone), printing each name removed and reporting each failure; one failure does
/// not stop the rest. Returns exit_error when any failed.
int remove_each(const std::vector<std::string>& names,
                const std::function<Status(const std::string&)>& remove);

/// `strata plugins` (alias `plugin`): `ls` and `inspect`.
void add_plugins_command(CLI::App& app, const Globals& globals, Outcome& outcome);

/// `strata plugin inspect FILE.so`, added under `plugins`.
void add_inspect_command(CLI::App& plugins, Outcome& outcome);

/// `strata content`: `ingest`, `ls`, `get`, `rm`, `label` on stratad's content store.
void add_content_command(CLI::App& app, const Globals& globals, Outcome& outcome);

/// `strata diff`: `apply` and `compare` through stratad's diff service or one differ.
void add_diff_command(CLI::App& app, const Globals& globals, Outcome& outcome);

/// `strata image` (alias `images`): `import`, `ls`, `inspect`, `rm`, `unpack` through stratad's
/// images service, and `mount`, `unmount` in this process.
void add_image_command(CLI::App& app, const Globals& globals, Outcome& outcome);

/// `unpack`, `mount` and `unmount`, added under `image`.
void add_image_unpack_commands(CLI::App& image, const Globals& globals, Outcome& outcome);

/// `strata snapshots` (alias `snapshot`) [--snapshotter NAME]: `prepare`, `view`, `commit`,
/// `mounts`, `rm`, `stat`, `ls`, `usage`, `label`, `tree`, `cleanup` through stratad, and `mount`,
/// `unmount` in this process.
void add_snapshots_command(CLI::App& app, const Globals& globals, Outcome& outcome);

} // namespace strata::cli
