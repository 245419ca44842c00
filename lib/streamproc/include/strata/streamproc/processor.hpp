#pragma once
/// \file
/// External stream processors: binaries that turn one layer media type into another (e.g. a
/// decryptor), configured per id under `[stream_processors.<id>]`, and whether one can be used.

#include <strata/plugin/error.hpp>
#include <strata/plugin/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace strata::streamproc {

/// One configured processor: `path args...` reads a blob of one of `accepts` on stdin and writes
/// the same content as `returns` on stdout.
struct ProcessorSpec {
  std::string id;                   ///< the `<id>` of `[stream_processors.<id>]`
  std::vector<std::string> accepts; ///< media types it takes (exact match)
  std::string returns;              ///< the media type of its output
  std::string path;                 ///< the binary; must be absolute to be usable (see check())
  std::vector<std::string> args;    ///< argv[1..]; argv[0] is `path`
  std::vector<std::string> env; ///< "K=V" entries: the child's whole environment (see chain.hpp)
  bool operator==(const ProcessorSpec&) const = default;
};

/// Decodes the `stream_processors` table: `{"<id>": {"accepts": [..], "returns": "..",
/// "path": "..", "args": [..], "env": ["K=V", ..]}, ...}`, keeping the table's order (the order
/// in which build_chain() prefers processors). `accepts`, `returns` and `path` are required; `args`
/// and `env` default to empty. A relative `path` is accepted here and reported by check(), so that
/// one bad entry makes only that processor unavailable.
/// Errors: InvalidArgument naming `stream_processors.<id>.<key>` and the fix, for an unknown key,
/// a wrong type, a missing required key, an empty `accepts`/`returns`/`path`, a string holding a
/// NUL byte, an `env` entry that is not "K=V", or an `env` entry setting
/// STREAM_PROCESSOR_MEDIATYPE (strata sets it for each run).
Result<std::vector<ProcessorSpec>> parse_processors(const json::object& table);

/// Whether `spec` can run: its path must be absolute (never resolved through PATH or the current
/// directory) and name an existing regular file that is executable and not writable by group or
/// others (a processor sees every layer it converts).
/// Errors: Unavailable with the reason, naming `stream_processors.<id>.path`, the file and the
/// fix; callers report it (e.g. as a plugin skip reason) and build_chain() skips that processor.
Status check(const ProcessorSpec& spec);

/// Whether a processor in `processors` that can run (check()) accepts `media_type`: what a
/// differ asks before it takes a layer whose media type it cannot decode itself.
/// Errors: NotImplemented "no stream processor accepts it", followed by each accepting
/// processor's check() reason (so the caller can try another differ, and the operator sees why).
Status find_accepting(const std::vector<ProcessorSpec>& processors, std::string_view media_type);

} // namespace strata::streamproc
