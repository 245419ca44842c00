#include "strata/fs/posix.hpp"
#include "strata/plugin/try.hpp"

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <vector>

namespace strata::fs {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = fd;
}

Error sys_error(std::string_view what, int err) {
  Code code = Code::Internal;
  switch (err) {
  case ENOENT:
    code = Code::NotFound;
    break;
  case EEXIST:
    code = Code::AlreadyExists;
    break;
  case EACCES:
  case EPERM:
    code = Code::PermissionDenied;
    break;
  case EINVAL:
  case ENAMETOOLONG:
  case ELOOP:
  case ENOTDIR:
  case EXDEV:
    code = Code::InvalidArgument;
    break;
  case ENOSPC:
  case EDQUOT:
  case EMFILE:
  case ENFILE:
  case ENOMEM:
    code = Code::ResourceExhausted;
    break;
  case ENOSYS:
  case EOPNOTSUPP:
    code = Code::NotImplemented;
    break;
  case EBUSY:
  case EAGAIN:
    code = Code::Unavailable;
    break;
  default:
    break;
  }
  return Error(code, std::string(what) + ": " + std::strerror(err));
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    return sys_error("cannot create directory " + path, errno);
  // An existing directory may have been created with a wider mode (umask, older version).
  if (::chmod(path.c_str(), mode) != 0)
    return sys_error("cannot set the mode of " + path, errno);
  return {};
}

Status make_new_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0)
    return sys_error("cannot create " + path, errno);
  if (::chmod(path.c_str(), mode) != 0) // the umask must not narrow it
    return sys_error("cannot set the mode of " + path, errno);
  return {};
}

Status fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    return sys_error("cannot open directory " + dir, errno);
  if (::fsync(fd.get()) != 0)
    return sys_error("cannot sync directory " + dir, errno);
  return {};
}

Status write_all(int fd, std::span<const std::byte> data, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return sys_error("cannot write " + std::string(what), errno);
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
  return {};
}

// The brief forbids seeded PRNGs for identifiers and temporary names.
Result<std::string> random_hex(std::size_t n) {
  std::vector<unsigned char> bytes(n);
  std::size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return sys_error("getrandom", errno);
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 0xf];
  }
  return out;
}

Status write_file_atomic(const std::string& dir, const std::string& name, std::string_view data,
                         mode_t mode) {
  STRATA_TRY_ASSIGN(auto suffix, random_hex(8));
  const std::string tmp = dir + "/." + name + "." + suffix + ".tmp";
  const std::string target = dir + "/" + name;
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd)
    return sys_error("cannot create " + tmp, errno);
  Status st = write_all(fd.get(), std::as_bytes(std::span(data.data(), data.size())), tmp);
  if (st && ::fsync(fd.get()) != 0)
    st = sys_error("cannot sync " + tmp, errno);
  fd.reset();
  if (st && ::rename(tmp.c_str(), target.c_str()) != 0)
    st = sys_error("cannot rename " + tmp + " to " + target, errno);
  if (!st) {
    ::unlink(tmp.c_str());
    return st;
  }
  return fsync_dir(dir);
}

Result<std::string> read_small_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT)
      return not_found(path + " does not exist");
    return sys_error("cannot open " + path, errno);
  }
  std::string out;
  std::array<char, 4096> buf{};
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return sys_error("cannot read " + path, errno);
    }
    if (n == 0)
      return out;
    out.append(buf.data(), static_cast<std::size_t>(n));
  }
}

} // namespace strata::fs
