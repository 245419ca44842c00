#pragma once
// Loading every plugin file of the configured directories into the registry.

#include "strata/plugin/error.hpp"
#include "strata/registry/registry.hpp"

#include <optional>
#include <string>
#include <vector>

namespace strata::host {

/// What happened to one plugin file.
struct FileOutcome {
  std::string path;
  /// "<type>.<id>" from the descriptor when it could be read; empty otherwise.
  std::string type;
  std::string id;
  std::string version;
  std::vector<std::string> requires_list;
  /// Set when the file's plugin is not registered: refused, failed to load, did not register,
  /// or its registration was refused (duplicate, invalid).
  std::optional<Error> error;
};

/// The `*.so` files of `dir` in byte order of name. A missing directory is no error (nothing to
/// load); an unreadable one is.
Result<std::vector<std::string>> plugin_files(const std::string& dir);

/// Inspects, opens and registers one plugin file into `registry`.
FileOutcome load_plugin_file(const std::string& path, registry::Registry& registry);

/// load_plugin_file for every file of every directory, in order. A file that resolves to one
/// already loaded (a symlink to it, or its directory listed twice) is skipped.
std::vector<FileOutcome> load_plugin_dirs(const std::vector<std::string>& dirs,
                                          registry::Registry& registry);

} // namespace strata::host
