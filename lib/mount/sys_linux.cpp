// Error formatting and small helpers shared by the Linux mount sources.
#include "sys_linux.hpp"

#include <strata/plugin/try.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/mount.h>
#include <sys/stat.h>

namespace strata::mount::detail {

std::string errno_name(int err) {
  const char* name = ::strerrorname_np(err);
  return name != nullptr ? std::string(name) : "errno " + std::to_string(err);
}

std::string shorten(std::string_view s, std::size_t max) {
  if (s.size() <= max)
    return std::string(s);
  return std::string(s.substr(0, max)) + "... (" + std::to_string(s.size() - max) + " more bytes)";
}

Error mount_error(std::string_view what, int err, std::string_view hint) {
  Error e = fs::sys_error(what, err);
  std::string msg = e.message() + " (" + errno_name(err) + ")";
  if (!hint.empty())
    msg += "; " + std::string(hint);
  return Error(e.code(), std::move(msg));
}

std::string describe_mount(std::string_view type, std::string_view source, std::string_view target,
                           std::string_view options) {
  std::string s = "cannot mount " + std::string(type) + " \"" + std::string(source) + "\" on \"" +
                  std::string(target) + "\"";
  if (!options.empty())
    s += " with options \"" + shorten(options) + "\"";
  return s;
}

unsigned long per_mount_flags(unsigned long ms_flags) {
  return ms_flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME |
                     MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW);
}

unsigned long long mount_attr_set(unsigned long ms_flags) {
  unsigned long long a = 0;
  if (ms_flags & MS_RDONLY)
    a |= MOUNT_ATTR_RDONLY;
  if (ms_flags & MS_NOSUID)
    a |= MOUNT_ATTR_NOSUID;
  if (ms_flags & MS_NODEV)
    a |= MOUNT_ATTR_NODEV;
  if (ms_flags & MS_NOEXEC)
    a |= MOUNT_ATTR_NOEXEC;
  if (ms_flags & MS_NODIRATIME)
    a |= MOUNT_ATTR_NODIRATIME;
  if (ms_flags & MS_NOSYMFOLLOW)
    a |= MOUNT_ATTR_NOSYMFOLLOW;
  if (ms_flags & MS_NOATIME)
    a |= MOUNT_ATTR_NOATIME;
  else if (ms_flags & MS_STRICTATIME)
    a |= MOUNT_ATTR_STRICTATIME;
  else if (ms_flags & MS_RELATIME)
    a |= MOUNT_ATTR_RELATIME;
  return a;
}

unsigned long long mount_attr_clear(unsigned long ms_flags) {
  return (ms_flags & (MS_NOATIME | MS_STRICTATIME | MS_RELATIME)) ? MOUNT_ATTR__ATIME : 0;
}

Status set_propagation(const std::string& path, const std::string& display,
                       unsigned long propagation) {
  if (::mount(nullptr, path.c_str(), nullptr, propagation, nullptr) != 0)
    return mount_error("cannot change the propagation of the mount on \"" + display + "\"", errno);
  return {};
}

Result<std::string> make_temp_dir(const std::string& parent, std::string_view prefix) {
  std::string base = (parent.empty() ? std::string("/tmp") : parent) + "/" + std::string(prefix);
  for (int attempt = 0;; ++attempt) {
    STRATA_TRY_ASSIGN(auto suffix, fs::random_hex(8));
    std::string path = base + suffix;
    if (::mkdir(path.c_str(), 0700) == 0)
      return path;
    if (errno != EEXIST || attempt == 16)
      return mount_error("cannot create the temporary directory \"" + path + "\"", errno);
  }
}

} // namespace strata::mount::detail
