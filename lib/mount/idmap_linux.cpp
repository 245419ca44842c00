// Idmapped bind mounts: open_tree(OPEN_TREE_CLONE) + mount_setattr(MOUNT_ATTR_IDMAP) +
// move_mount, and the probe that checks a filesystem supports them.
#include "strata/mount/idmap.hpp"

#include "strata/mount/mount.hpp"
#include "sys_linux.hpp"

#include <strata/fs/root.hpp>
#include <strata/plugin/try.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::mount {
namespace detail {

Status idmap_tree(int tree_fd, int userns_fd, const BindAttributes& attrs, std::string_view source,
                  std::string_view display) {
  struct mount_attr attr {};
  unsigned long ms = attrs.flags | (attrs.readonly ? MS_RDONLY : 0);
  attr.attr_set = MOUNT_ATTR_IDMAP | mount_attr_set(ms);
  attr.attr_clr = mount_attr_clear(ms);
  attr.propagation = MS_PRIVATE;
  attr.userns_fd = static_cast<std::uint64_t>(userns_fd);
  unsigned int flags = AT_EMPTY_PATH | (attrs.recursive ? AT_RECURSIVE : 0);
  if (::mount_setattr(tree_fd, "", flags, &attr, sizeof attr) == 0)
    return {};
  int err = errno;
  std::string what = "cannot idmap the mount of \"" + std::string(source) + "\" for \"" +
                     std::string(display) + "\"";
  switch (err) {
  case ENOSYS:
    return not_implemented(what + ": the kernel lacks mount_setattr (Linux 5.12+)");
  case EINVAL:
    return not_implemented(what + ": " + std::strerror(err) +
                           " (EINVAL); the filesystem does not support idmapped mounts, or a "
                           "mount in the tree is already idmapped");
  default:
    return mount_error(what, err);
  }
}

Status attach_tree(int tree_fd, const std::string& path, std::string_view display) {
  if (::move_mount(tree_fd, "", AT_FDCWD, path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return mount_error("cannot attach the new mount on \"" + std::string(display) + "\"", errno);
  return {};
}

} // namespace detail

Status idmapped_bind(const std::string& source, const std::string& target, int userns_fd,
                     const BindAttributes& attrs) {
  unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (attrs.recursive ? AT_RECURSIVE : 0);
  fs::UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), flags));
  if (!tree) {
    int err = errno;
    if (err == ENOSYS)
      return not_implemented("cannot bind \"" + source + "\" on \"" + target +
                             "\": the kernel lacks open_tree (Linux 5.2+)");
    return detail::mount_error("cannot clone \"" + source + "\" to bind it on \"" + target + "\"",
                               err);
  }
  STRATA_TRY(detail::idmap_tree(tree.get(), userns_fd, attrs, source, target));
  return detail::attach_tree(tree.get(), target, target);
}

bool idmapped_mounts_supported(const std::string& dir) {
  auto tmp = detail::make_temp_dir(dir, ".strata-idmap-probe-");
  if (!tmp)
    return false;
  bool ok = false;
  std::string src = *tmp + "/src";
  std::string dst = *tmp + "/dst";
  bool mounted = false;
  if (::mkdir(src.c_str(), 0755) == 0 && ::mkdir(dst.c_str(), 0755) == 0 &&
      ::chown(src.c_str(), 0, 0) == 0) {
    auto ns = user_namespace_fd("0:666:1", "0:666:1");
    if (ns && idmapped_bind(src, dst, ns->get())) {
      mounted = true;
      struct stat st {};
      ok = ::stat(dst.c_str(), &st) == 0 && st.st_uid == 666 && st.st_gid == 666;
    }
  }
  // Remove only what is certainly no longer mounted.
  if (mounted && !unmount(dst, MNT_DETACH))
    return ok;
  (void)fs::remove_all_at(AT_FDCWD, *tmp, *tmp);
  return ok;
}

} // namespace strata::mount
