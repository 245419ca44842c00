#include "config/config.hpp"

#include <strata/plugin/try.hpp>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace strata::host {

namespace {

namespace fs = std::filesystem;

enum class Presence { Missing, Present };

// Only a definite "no such file" counts as missing: a file hidden by a permission problem must
// not silently turn into the embedded defaults.
Result<Presence> presence(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found)
    return Presence::Missing;
  if (ec)
    return Error(Code::PermissionDenied,
                 fmt::format("cannot read config file {}: {}", path, ec.message()));
  if (st.type() == fs::file_type::directory)
    return invalid_argument(fmt::format("config file {} is a directory, not a file", path));
  return Presence::Present;
}

Result<Config> load_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Error(Code::PermissionDenied,
                 fmt::format("cannot read config file {}: {}", path, std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad())
    return Error(Code::PermissionDenied,
                 fmt::format("cannot read config file {}: {}", path, std::strerror(errno)));
  return parse_config(text.str(), path);
}

} // namespace

Result<Config> load_config(const std::optional<std::string>& explicit_path,
                           const std::string& default_path) {
  if (explicit_path) {
    STRATA_TRY_ASSIGN(auto p, presence(*explicit_path));
    if (p == Presence::Missing)
      return not_found(
          fmt::format("config file {} does not exist: create it or drop --config", *explicit_path));
    return load_file(*explicit_path);
  }
  STRATA_TRY_ASSIGN(auto p, presence(default_path));
  if (p == Presence::Present)
    return load_file(default_path);
  return parse_config(embedded_default_config(), std::string(embedded_source_name));
}

Result<Config> load_config(const std::optional<std::string>& explicit_path) {
  return load_config(explicit_path, std::string(default_config_path));
}

} // namespace strata::host
