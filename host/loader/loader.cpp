#include "loader/loader.hpp"

#include "loader/plugin_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

namespace strata::host {

namespace fs = std::filesystem;

Result<std::vector<std::string>> plugin_files(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec))
    return std::vector<std::string>{};
  std::vector<std::string> files;
  fs::directory_iterator it(dir, ec);
  if (ec)
    return Error(Code::PermissionDenied,
                 fmt::format("plugin directory {}: cannot list: {}", dir, ec.message()));
  for (const auto& e : it) {
    if (e.path().extension() == ".so")
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

FileOutcome load_plugin_file(const std::string& path, registry::Registry& registry) {
  FileOutcome out;
  out.path = path;
  auto inspection = inspect(path);
  if (inspection.refusal) {
    out.error = *inspection.refusal;
    return out;
  }
  auto opened = open(path);
  if (!opened) {
    out.error = opened.error();
    return out;
  }
  const auto& d = opened->descriptor;
  out.type = d.type;
  out.id = d.id;
  out.version = d.version;
  out.requires_list = d.requires_list;

  registry::OriginRegistrar registrar(registry, path, opened->library);
  int rc = 0;
  try {
    rc = opened->register_fn(static_cast<Registrar*>(&registrar));
  } catch (const std::exception& e) {
    out.error =
        internal_error(fmt::format("{}: register function threw an exception: {}", path, e.what()));
    return out;
  } catch (...) {
    out.error = internal_error(fmt::format("{}: register function threw", path));
    return out;
  }
  const auto& registered = registrar.registered();
  if (!registrar.refused().empty()) {
    out.error = registrar.refused().front();
  } else if (registered.empty()) {
    out.error = failed_precondition(fmt::format(
        "{}: plugin {} did not register anything (register function returned {}); fix: its "
        "register function must call Registrar::add, which STRATA_PLUGIN does",
        path, d.uri(), rc));
  } else if (registered.size() != 1 || registered.front() != d.uri()) {
    out.error = failed_precondition(
        fmt::format("{}: descriptor declares {} but the plugin registered {}; one file, one plugin",
                    path, d.uri(), fmt::join(registered, ", ")));
  } else if (rc != 0) {
    out.error = internal_error(
        fmt::format("{}: register function returned {} after registering", path, rc));
  }
  return out;
}

std::vector<FileOutcome> load_plugin_dirs(const std::vector<std::string>& dirs,
                                          registry::Registry& registry) {
  std::vector<FileOutcome> outcomes;
  // A symlink to a plugin, or a directory listed twice, must not load the same file again and
  // then fail as a duplicate registration of itself.
  std::set<std::string> seen;
  for (const auto& dir : dirs) {
    auto files = plugin_files(dir);
    if (!files) {
      FileOutcome o;
      o.path = dir;
      o.error = files.error();
      outcomes.push_back(std::move(o));
      continue;
    }
    for (const auto& f : *files) {
      std::error_code ec;
      auto canonical = fs::canonical(f, ec);
      if (!ec && !seen.insert(canonical.string()).second)
        continue;
      outcomes.push_back(load_plugin_file(f, registry));
    }
  }
  return outcomes;
}

} // namespace strata::host
