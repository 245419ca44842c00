#include "fs_image.hpp"

#include "command.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace strata::testing {

std::string find_mkfs(const std::string& type) {
  for (const char* dir : {"/usr/sbin/", "/sbin/"}) {
    std::string p = dir + ("mkfs." + type);
    if (::access(p.c_str(), X_OK) == 0)
      return p;
  }
  return {};
}

Status make_fs_image(const std::string& path, const std::string& type, std::int64_t size,
                     const std::vector<std::string>& mkfs_args) {
  std::string mkfs = find_mkfs(type);
  if (mkfs.empty())
    return not_found("no mkfs." + type + " in /usr/sbin or /sbin (install its package)");
  int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    return internal_error("cannot create " + path + ": " + std::strerror(errno));
  int rc = ::ftruncate(fd, size);
  int err = errno;
  ::close(fd);
  if (rc != 0)
    return internal_error("cannot size " + path + ": " + std::strerror(err));
  std::vector<std::string> argv = {mkfs, "-q", type.starts_with("ext") ? "-F" : "-f"};
  argv.insert(argv.end(), mkfs_args.begin(), mkfs_args.end());
  argv.push_back(path);
  std::string out, errors;
  if (run_command(argv, &out, &errors) != 0) {
    std::string shown;
    for (const std::string& a : argv)
      shown += (shown.empty() ? "" : " ") + a;
    return internal_error(shown + " failed: " + out + errors);
  }
  return {};
}

} // namespace strata::testing
