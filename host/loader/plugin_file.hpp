#pragma once
// Inspecting and opening one plugin shared object: the ABI handshake.
//
// inspect() reads the file's symbol table without loading it (Boost.DLL library_info) and refuses
// what can be refused without running plugin code: unsafe ownership or permissions, no entry,
// an entry of another ABI major, another toolchain's marker. open() then loads the file
// (RTLD_NOW | RTLD_LOCAL), calls only the entry, and checks the descriptor it returns.

#include "strata/plugin/abi.h"
#include "strata/plugin/error.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace strata::host {

/// What the descriptor of a plugin file says (copied out of the library).
struct DescriptorInfo {
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  std::uint32_t struct_size = 0;
  std::string toolchain;
  std::string type;
  std::string id;
  std::string version;
  std::vector<std::string> requires_list;
  /// "<type>.<id>".
  std::string uri() const { return type + "." + id; }
};

/// Result of reading a plugin file without loading it.
struct FileInspection {
  std::string path;
  std::vector<std::string> entry_symbols;     ///< every strata_plugin_v* symbol found
  std::vector<std::string> toolchain_symbols; ///< every strata_toolchain_* symbol found
  /// Set when the file must not be loaded; the message names the file, what it has, what the host
  /// wants and the fix. Codes: PermissionDenied (ownership/mode), NotFound (no entry),
  /// FailedPrecondition (ABI major or toolchain mismatch), InvalidArgument (not a shared object).
  std::optional<Error> refusal;
};

/// The host's own expectations, for messages and `strata plugin inspect`.
struct HostAbi {
  std::uint32_t abi_major;
  std::uint32_t abi_minor;
  std::string entry_symbol;
  std::string toolchain_tag;
  std::string toolchain_symbol;
  static HostAbi current();
};

/// Checks ownership and mode: refuses files writable by group or others, and files owned by
/// anyone but root or the effective user. Error code PermissionDenied.
Status check_file_safety(const std::string& path);

/// Reads the symbol table of `path` without loading it and decides whether it may be loaded.
FileInspection inspect(const std::string& path);

/// A loaded plugin library. Never unloaded while the process lives (see LoadedLibrary's note).
class LoadedLibrary;

/// A plugin file that passed the handshake: its library (kept loaded) and its descriptor.
struct OpenedPlugin {
  std::shared_ptr<LoadedLibrary> library;
  DescriptorInfo descriptor;
  strata_plugin_register_fn register_fn = nullptr;
};

/// Loads `path` (after inspect() passed), calls the entry and checks the descriptor: ABI major
/// and minor, struct size, toolchain tag, non-empty type and id. The only plugin code this runs
/// is the entry (and the file's static initialisers, which the SDK forbids to have effects).
/// Errors: Internal (dlopen failed: message has dlerror's text), FailedPrecondition (mismatch),
/// InvalidArgument (malformed descriptor).
Result<OpenedPlugin> open(const std::string& path);

} // namespace strata::host
