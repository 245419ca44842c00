#include "api/socket_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace strata::host::api {
namespace {

std::string errno_text(int err) {
  return std::strerror(err);
}

// Asks whoever listens on `path` to connect. Non-blocking, so a live but saturated server
// (EAGAIN: backlog full) counts as live instead of hanging us.
enum class Liveness { Live, Dead, Unknown };
Liveness probe(const std::string& path, int& err) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = errno;
    return Liveness::Unknown;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof(addr.sun_path) - 1));
  int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  err = rc == 0 ? 0 : errno;
  ::close(fd);
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS)
    return Liveness::Live;
  if (err == ECONNREFUSED || err == ENOENT)
    return Liveness::Dead;
  return Liveness::Unknown;
}

} // namespace

Status ensure_parent_dir(const std::string& socket_path) {
  auto parent = std::filesystem::path(socket_path).parent_path();
  if (parent.empty())
    return {};
  // Created one level at a time so each new directory gets 0711, not just the last.
  std::filesystem::path current;
  for (const auto& part : parent) {
    current /= part;
    if (::mkdir(current.c_str(), 0711) == 0) {
      // mkdir's mode is filtered by the umask; the directory must be traversable by the
      // socket's group, so the mode is set explicitly.
      ::chmod(current.c_str(), 0711);
      continue;
    }
    if (errno == EEXIST)
      continue;
    return unavailable(fmt::format("cannot create directory {} for the API socket {}: {}",
                                   current.string(), socket_path, errno_text(errno)));
  }
  return {};
}

Status clear_stale_socket(const std::string& socket_path) {
  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return {};
    return failed_precondition(
        fmt::format("cannot check the API socket path {}: {}", socket_path, errno_text(errno)));
  }
  if (!S_ISSOCK(st.st_mode))
    return failed_precondition(
        fmt::format("{} exists and is not a socket; remove it or set [api] address to another "
                    "path",
                    socket_path));
  int err = 0;
  switch (probe(socket_path, err)) {
  case Liveness::Live:
    return unavailable(fmt::format("another stratad is serving {}; stop it first or set [api] "
                                   "address to another path",
                                   socket_path));
  case Liveness::Unknown:
    return failed_precondition(fmt::format("cannot tell whether a server still serves {}: {}",
                                           socket_path, errno_text(err)));
  case Liveness::Dead:
    break;
  }
  if (::unlink(socket_path.c_str()) != 0 && errno != ENOENT)
    return failed_precondition(
        fmt::format("cannot remove the stale socket {}: {}", socket_path, errno_text(errno)));
  return {};
}

Status publish_socket(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0)
    return {};
  int err = errno;
  // Filesystems without RENAME_NOREPLACE: a hard link also refuses to replace.
  if (err == EINVAL || err == ENOSYS) {
    err = ::link(from.c_str(), to.c_str()) == 0 ? 0 : errno;
    ::unlink(from.c_str());
    if (err == 0)
      return {};
  }
  ::unlink(from.c_str());
  if (err == EEXIST)
    return unavailable(fmt::format("another stratad is serving {} (it appeared while this one "
                                   "was starting)",
                                   to));
  return unavailable(fmt::format("cannot create the API socket {}: {}", to, errno_text(err)));
}

std::optional<FileId> file_id(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0)
    return std::nullopt;
  return FileId{static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino)};
}

} // namespace strata::host::api
