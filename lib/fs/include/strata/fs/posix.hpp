#pragma once
/// \file
/// Small POSIX helpers shared by lib/ modules and plugins: an owning file descriptor,
/// errno-carrying errors, and the write/fsync/rename steps of durable updates.

#include <strata/plugin/error.hpp>

#include <sys/types.h>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace strata::fs {

/// Owns a file descriptor; closes it on destruction. The one owning fd of the project: lib/
/// modules, plugins and the CLI hold descriptors in it.
class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  /// The descriptor, still owned; -1 when none.
  int get() const noexcept { return fd_; }
  /// True when a descriptor is held.
  explicit operator bool() const noexcept { return fd_ >= 0; }
  /// Gives the descriptor up without closing it; -1 when none.
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  /// Closes the descriptor held (if any) and owns `fd` instead.
  void reset(int fd = -1) noexcept;

private:
  int fd_ = -1;
};

/// "<what>: <strerror(err)>" with a code that fits errno: NotFound (ENOENT), AlreadyExists
/// (EEXIST), PermissionDenied (EACCES, EPERM), InvalidArgument (EINVAL, ENAMETOOLONG, ELOOP,
/// ENOTDIR, EXDEV), ResourceExhausted (ENOSPC, EDQUOT, EMFILE, ENFILE, ENOMEM), NotImplemented
/// (ENOSYS, EOPNOTSUPP), Unavailable (EBUSY, EAGAIN), Internal otherwise.
Error sys_error(std::string_view what, int err);

/// `n` random bytes from the OS CSPRNG (getrandom), as 2n lowercase hex digits.
/// Errors: Internal when getrandom fails.
Result<std::string> random_hex(std::size_t n);

/// mkdir with `mode`; an existing directory is fine and gets `mode` applied.
Status make_dir(const std::string& path, mode_t mode);

/// mkdir of a directory that must not exist yet, with exactly `mode` (the umask does not narrow
/// it). Errors by errno: AlreadyExists when it exists; NotFound when the parent is missing.
Status make_new_dir(const std::string& path, mode_t mode);

/// fsync(2) of a directory, so that renames and unlinks in it are durable.
Status fsync_dir(const std::string& dir);

/// write(2) until every byte is written (retries EINTR and short writes).
Status write_all(int fd, std::span<const std::byte> data, std::string_view what);

/// Replaces dir/name with `data` atomically and durably: a temporary file with a random name in
/// the same directory, fsync, rename over the target, fsync of the directory.
Status write_file_atomic(const std::string& dir, const std::string& name, std::string_view data,
                         mode_t mode);

/// Reads a whole (small) file. Errors: NotFound when it does not exist; Internal otherwise.
Result<std::string> read_small_file(const std::string& path);

} // namespace strata::fs
