#include "loader/plugin_file.hpp"

#include "strata/plugin/toolchain.hpp"

#include <boost/dll/library_info.hpp>
#include <boost/dll/shared_library.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <elf.h>
#include <fstream>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::host {

/// Owns one dlopen handle. Instances are kept in a process-lifetime list and never destroyed:
/// vtables, deleters and std::function targets created by a plugin may outlive any owner the host
/// could track, and dlclose would leave them dangling (hosts that unload plugins crash in the
/// destructors of objects that outlived the library).
class LoadedLibrary {
public:
  explicit LoadedLibrary(boost::dll::shared_library lib) : lib_(std::move(lib)) {}
  boost::dll::shared_library& get() { return lib_; }

private:
  boost::dll::shared_library lib_;
};

namespace {

constexpr std::size_t max_requires_entries = 256;

std::mutex load_mutex; // dlopen/dlclose are not guaranteed thread-safe everywhere; serialise

std::vector<std::shared_ptr<LoadedLibrary>>& resident_libraries() {
  static auto* libs = new std::vector<std::shared_ptr<LoadedLibrary>>();
  return *libs;
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string rebuild_hint() {
  return fmt::format("rebuild the plugin against this host's SDK (pkg-config strata-plugin, ABI "
                     "{}.{}, toolchain {})",
                     STRATA_PLUGIN_ABI_MAJOR, STRATA_PLUGIN_ABI_MINOR, STRATA_TOOLCHAIN_TAG);
}

std::string safe_string(const char* s) {
  return s ? std::string(s) : std::string();
}

// The ELF machine of the running host, read from its own executable.
Elf64_Half host_elf_machine() {
  static const Elf64_Half machine = [] {
    Elf64_Ehdr self{};
    std::ifstream in("/proc/self/exe", std::ios::binary);
    in.read(reinterpret_cast<char*>(&self), sizeof self);
    return self.e_machine;
  }();
  return machine;
}

// Boost's library_info reports an empty or non-ELF file as "basic_ios::clear: iostream error";
// reading the ELF identification ourselves gives the operator a message they can act on.
Status check_elf_shared_object(const std::string& path) {
  Elf64_Ehdr header{};
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(&header), sizeof header);
  const auto got = static_cast<std::size_t>(in.gcount());
  const std::string fix = "fix: remove it from the plugin directory or replace it with a plugin "
                          "built with the SDK";
  if (got < EI_NIDENT || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0)
    return invalid_argument(fmt::format("{}: not an ELF shared object ({}); {}", path,
                                        got == 0 ? "the file is empty" : "no ELF magic", fix));
  if (got < sizeof header || header.e_ident[EI_CLASS] != ELFCLASS64 ||
      header.e_ident[EI_DATA] != ELFDATA2LSB || header.e_machine != host_elf_machine())
    return invalid_argument(fmt::format(
        "{}: an ELF file for another machine (class {}, data {}, machine {}); this host needs "
        "64-bit little-endian, machine {}; {}",
        path, header.e_ident[EI_CLASS], header.e_ident[EI_DATA], header.e_machine,
        host_elf_machine(), fix));
  if (header.e_type != ET_DYN)
    return invalid_argument(fmt::format("{}: an ELF file of type {} but not a shared object; {}",
                                        path, header.e_type, fix));
  return {};
}

} // namespace

HostAbi HostAbi::current() {
  return {STRATA_PLUGIN_ABI_MAJOR, STRATA_PLUGIN_ABI_MINOR, STRATA_PLUGIN_ENTRY_NAME,
          STRATA_TOOLCHAIN_TAG, strata::toolchain_symbol};
}

Status check_file_safety(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return not_found(fmt::format("{}: cannot stat: {}", path, std::strerror(errno)));
  if (!S_ISREG(st.st_mode))
    return invalid_argument(fmt::format("{}: not a regular file", path));
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return Error(Code::PermissionDenied,
                 fmt::format("{}: refused: the file is writable by {} (mode {:04o}), so another "
                             "user could replace the code stratad runs; fix: chmod go-w {}",
                             path, (st.st_mode & S_IWOTH) ? "others" : "group", st.st_mode & 07777,
                             path));
  if (st.st_uid != 0 && st.st_uid != ::geteuid())
    return Error(Code::PermissionDenied,
                 fmt::format("{}: refused: the file is owned by uid {}, not by root or the user "
                             "stratad runs as (uid {}); fix: chown root {}",
                             path, st.st_uid, ::geteuid(), path));
  return {};
}

FileInspection inspect(const std::string& path) {
  FileInspection out;
  out.path = path;
  if (auto safe = check_file_safety(path); !safe) {
    out.refusal = safe.error();
    return out;
  }
  if (auto elf = check_elf_shared_object(path); !elf) {
    out.refusal = elf.error();
    return out;
  }
  std::vector<std::string> symbols;
  try {
    boost::dll::library_info info(path, true);
    symbols = info.symbols();
  } catch (const std::exception& e) {
    out.refusal = invalid_argument(
        fmt::format("{}: not a loadable shared object for this machine ({})", path, e.what()));
    return out;
  }
  for (auto& s : symbols) {
    if (starts_with(s, STRATA_PLUGIN_ENTRY_PREFIX))
      out.entry_symbols.push_back(s);
    else if (starts_with(s, STRATA_TOOLCHAIN_SYMBOL_PREFIX))
      out.toolchain_symbols.push_back(s);
  }
  std::sort(out.entry_symbols.begin(), out.entry_symbols.end());
  std::sort(out.toolchain_symbols.begin(), out.toolchain_symbols.end());

  const auto host = HostAbi::current();
  bool has_entry = std::find(out.entry_symbols.begin(), out.entry_symbols.end(),
                             host.entry_symbol) != out.entry_symbols.end();
  if (!has_entry) {
    if (out.entry_symbols.empty()) {
      out.refusal = not_found(fmt::format(
          "{}: no {} entry symbol: this is not a strata plugin, or it was built without the "
          "STRATA_PLUGIN macro; fix: build it with the SDK (see examples/hello-snapshotter) or "
          "move it out of the plugin directory",
          path, host.entry_symbol));
    } else {
      std::string majors;
      for (auto& s : out.entry_symbols)
        majors += (majors.empty() ? "" : ", ") +
                  s.substr(std::string_view(STRATA_PLUGIN_ENTRY_PREFIX).size());
      out.refusal = failed_precondition(
          fmt::format("{}: plugin ABI major {} (entry {}), host wants ABI major {} (entry {}); "
                      "not loaded; fix: {}",
                      path, majors, out.entry_symbols.front(), host.abi_major, host.entry_symbol,
                      rebuild_hint()));
    }
    return out;
  }
  if (!out.toolchain_symbols.empty() &&
      std::find(out.toolchain_symbols.begin(), out.toolchain_symbols.end(),
                host.toolchain_symbol) == out.toolchain_symbols.end()) {
    out.refusal = failed_precondition(
        fmt::format("{}: plugin toolchain marker {}, host toolchain {} ({}); C++ objects cannot "
                    "cross between them; not loaded; fix: {}",
                    path, out.toolchain_symbols.front(), host.toolchain_tag, host.toolchain_symbol,
                    rebuild_hint()));
  }
  return out;
}

Result<OpenedPlugin> open(const std::string& path) {
  std::lock_guard lock(load_mutex);
  boost::dll::shared_library lib;
  try {
    lib.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    return internal_error(fmt::format("{}: cannot load: {}; fix: check that the libraries it "
                                      "needs are installed (ldd {})",
                                      path, e.what(), path));
  }
  if (!lib.has(STRATA_PLUGIN_ENTRY_NAME))
    return not_found(
        fmt::format("{}: no {} entry symbol after loading", path, STRATA_PLUGIN_ENTRY_NAME));
  auto entry = lib.get<const strata_plugin_descriptor*()>(STRATA_PLUGIN_ENTRY_NAME);
  auto library = std::make_shared<LoadedLibrary>(std::move(lib));
  resident_libraries().push_back(library);

  const strata_plugin_descriptor* d = entry();
  if (!d)
    return invalid_argument(fmt::format("{}: the entry returned no descriptor", path));
  if (d->abi_major != STRATA_PLUGIN_ABI_MAJOR)
    return failed_precondition(fmt::format("{}: descriptor says ABI major {}, host wants {}; {}",
                                           path, d->abi_major, STRATA_PLUGIN_ABI_MAJOR,
                                           rebuild_hint()));
  if (d->abi_minor > STRATA_PLUGIN_ABI_MINOR)
    return failed_precondition(
        fmt::format("{}: plugin built for ABI {}.{}, newer than this host's {}.{}; fix: upgrade "
                    "stratad or {}",
                    path, d->abi_major, d->abi_minor, STRATA_PLUGIN_ABI_MAJOR,
                    STRATA_PLUGIN_ABI_MINOR, rebuild_hint()));
  if (d->struct_size < offsetof(strata_plugin_descriptor, register_fn) + sizeof(d->register_fn))
    return invalid_argument(fmt::format("{}: descriptor of {} bytes is too small for ABI {}.0",
                                        path, d->struct_size, STRATA_PLUGIN_ABI_MAJOR));
  const std::string toolchain = safe_string(d->toolchain);
  if (toolchain != STRATA_TOOLCHAIN_TAG)
    return failed_precondition(fmt::format("{}: plugin toolchain \"{}\", host toolchain \"{}\"; "
                                           "not registered; fix: {}",
                                           path, toolchain, STRATA_TOOLCHAIN_TAG, rebuild_hint()));
  OpenedPlugin out;
  out.library = library;
  out.descriptor.abi_major = d->abi_major;
  out.descriptor.abi_minor = d->abi_minor;
  out.descriptor.struct_size = d->struct_size;
  out.descriptor.toolchain = toolchain;
  out.descriptor.type = safe_string(d->type);
  out.descriptor.id = safe_string(d->id);
  out.descriptor.version = safe_string(d->version);
  for (std::size_t i = 0; d->requires_list && d->requires_list[i]; ++i) {
    if (i == max_requires_entries)
      return invalid_argument(fmt::format("{}: requires list is not NULL-terminated within {} "
                                          "entries",
                                          path, max_requires_entries));
    out.descriptor.requires_list.emplace_back(d->requires_list[i]);
  }
  if (out.descriptor.type.empty() || out.descriptor.id.empty())
    return invalid_argument(fmt::format("{}: descriptor has an empty type or id", path));
  if (!d->register_fn)
    return invalid_argument(fmt::format("{}: descriptor has no register function", path));
  out.register_fn = d->register_fn;
  return out;
}

} // namespace strata::host
