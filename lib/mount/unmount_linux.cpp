// Taking mounts down: busy retries, stacked mounts, reverse order.
#include "strata/mount/mount.hpp"

#include "sys_linux.hpp"

#include <cerrno>
#include <chrono>
#include <sys/mount.h>
#include <sys/stat.h>
#include <thread>

namespace strata::mount {
namespace {

constexpr int kBusyRetries = 50;
constexpr auto kBusyDelay = std::chrono::milliseconds(50);
// More stacked mounts than anyone makes on purpose; stops a loop against a remounting peer.
constexpr int kMaxStacked = 4096;

// 0 when something was unmounted, EINVAL when `target` is not a mount point, else the errno.
int unmount_once(const std::string& target, int flags) {
  for (int attempt = 0;; ++attempt) {
    if (::umount2(target.c_str(), flags | UMOUNT_NOFOLLOW) == 0)
      return 0;
    int err = errno;
    if (err == EINTR)
      continue;
    if (err != EBUSY || attempt + 1 >= kBusyRetries)
      return err;
    std::this_thread::sleep_for(kBusyDelay);
  }
}

Error unmount_error(const std::string& target, int err) {
  return detail::mount_error("cannot unmount \"" + target + "\"", err,
                             err == EBUSY ? "still busy after 50 attempts over 2.5 s: a process "
                                            "has a file open or its working directory there "
                                            "(see fuser -m / lsof); MNT_DETACH detaches it lazily"
                                          : "");
}

std::string mount_path(const Mount& m, const std::string& root) {
  if (m.target.empty())
    return root;
  std::string t = m.target;
  while (!t.empty() && t.front() == '/')
    t.erase(t.begin());
  return t.empty() ? root : root + "/" + t;
}

} // namespace

Status unmount(const std::string& target, int flags) {
  int err = unmount_once(target, flags);
  if (err == 0 || err == EINVAL)
    return {};
  return unmount_error(target, err);
}

Status unmount_all(const std::string& target, int flags) {
  if (target.empty())
    return {};
  struct stat st {};
  if (::lstat(target.c_str(), &st) != 0 && errno == ENOENT)
    return {};
  for (int i = 0; i < kMaxStacked; ++i) {
    int err = unmount_once(target, flags);
    if (err == EINVAL || err == ENOENT)
      return {};
    if (err != 0)
      return unmount_error(target, err);
  }
  return internal_error("\"" + target + "\" is still a mount point after 4096 unmounts");
}

Status unmount_mounts(const std::vector<Mount>& mounts, const std::string& root, int flags) {
  Status first;
  for (auto it = mounts.rbegin(); it != mounts.rend(); ++it) {
    Status st = unmount(mount_path(*it, root), flags);
    if (!st && first)
      first = st;
  }
  return first;
}

} // namespace strata::mount
