#pragma once
// The socket file on disk: its directory, stale files left by a crash, and atomic publication.

#include "strata/plugin/error.hpp"

#include <optional>
#include <string>

namespace strata::host::api {

/// Creates the missing parent directories of `socket_path` with mode 0711: others may reach the
/// socket by name (its own mode decides who may connect) but cannot list the directory.
Status ensure_parent_dir(const std::string& socket_path);

/// Makes `socket_path` free for a new server. Absent: nothing to do. A socket nobody answers on
/// (left by a crash): removed. A socket a live server answers on: Unavailable, since stealing it
/// would silently cut that server off. Anything else: FailedPrecondition naming the path.
Status clear_stale_socket(const std::string& socket_path);

/// Moves the bound socket `from` to `to` without replacing anything at `to`, so clients never
/// see the socket before its mode is set and a server that raced us keeps its socket.
/// Unavailable when `to` appeared meanwhile.
Status publish_socket(const std::string& from, const std::string& to);

/// Identity of a file (device and inode) so that stop() removes its own socket only.
struct FileId {
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  bool operator==(const FileId&) const = default;
};

/// The identity of `path` (not following a final symlink); nullopt when it cannot be read.
std::optional<FileId> file_id(const std::string& path);

} // namespace strata::host::api
