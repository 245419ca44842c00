// mount_one / mount_all: Mount values to mount(2) and the new mount API.
#include "strata/mount/mount.hpp"

#include "strata/mount/idmap.hpp"
#include "strata/mount/loop.hpp"
#include "strata/mount/overlay.hpp"
#include "sys_linux.hpp"

#include <strata/fs/root.hpp>

#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace strata::mount {
namespace {

using detail::describe_mount;
using detail::mount_error;

std::string hint_for(std::string_view type, int err) {
  switch (err) {
  case ENODEV:
    return "the kernel does not know filesystem type \"" + std::string(type) +
           "\" (is its module loaded? see /proc/filesystems)";
  case ENOENT:
    return "the source or the target does not exist";
  case ENOTDIR:
    return "the target (or a component of a path) is not a directory";
  case EPERM:
    return "mounting needs CAP_SYS_ADMIN in the user namespace that owns the mount namespace";
  case ENOTBLK:
    return "the source of this filesystem type must be a block device";
  case EBUSY:
    return "the source is already mounted or the target is busy";
  default:
    return {};
  }
}

// The statvfs flags a bind remount must keep: in a user namespace the kernel locks them, and
// outside one dropping them silently would widen what the mount allows.
unsigned long kept_flags(const std::string& path, unsigned long cleared) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0)
    return 0;
  unsigned long keep = 0;
  if (st.f_flag & ST_NOSUID)
    keep |= MS_NOSUID;
  if (st.f_flag & ST_NODEV)
    keep |= MS_NODEV;
  if (st.f_flag & ST_NOEXEC)
    keep |= MS_NOEXEC;
  if (st.f_flag & ST_NODIRATIME)
    keep |= MS_NODIRATIME;
  if (!(cleared & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))) {
    if (st.f_flag & ST_NOATIME)
      keep |= MS_NOATIME;
    else if (st.f_flag & ST_RELATIME)
      keep |= MS_RELATIME;
  }
  return keep & ~cleared;
}

// A bind mount ignores every flag but MS_REC on its first call; they take effect afterwards.
Status apply_bind_flags(const Mount& m, const ParsedOptions& p, const std::string& path,
                        const std::string& display) {
  unsigned long want = detail::per_mount_flags(p.flags);
  if (want == 0)
    return {};
  if (p.flags & MS_REC) {
    // A remount changes only the top mount; the whole cloned tree must become read-only too.
    struct mount_attr attr {};
    attr.attr_set = detail::mount_attr_set(want);
    attr.attr_clr = detail::mount_attr_clear(want);
    if (::mount_setattr(AT_FDCWD, path.c_str(), AT_RECURSIVE, &attr, sizeof attr) == 0)
      return {};
    if (errno != ENOSYS)
      return mount_error("cannot set the flags of the recursive bind of \"" + m.source +
                             "\" on \"" + display + "\"",
                         errno);
  }
  if (want & (MS_NOATIME | MS_STRICTATIME))
    want &= ~MS_RELATIME;
  unsigned long flags = MS_BIND | MS_REMOUNT | want | kept_flags(path, p.cleared);
  if (::mount(nullptr, path.c_str(), nullptr, flags, nullptr) != 0)
    return mount_error("cannot remount the bind of \"" + m.source + "\" on \"" + display +
                           "\" with its flags (ro, nosuid, ...)",
                       errno);
  return {};
}

Status mount_bind(const Mount& m, const ParsedOptions& p, const std::string& path,
                  const std::string& display) {
  if (p.idmapped()) {
    auto ns = user_namespace_fd(*p.uidmap, *p.gidmap);
    if (!ns)
      return ns.error().wrap("idmapped bind of \"" + m.source + "\" on \"" + display + "\"");
    BindAttributes attrs;
    attrs.recursive = (p.flags & MS_REC) != 0;
    attrs.readonly = (p.flags & MS_RDONLY) != 0;
    attrs.flags = detail::per_mount_flags(p.flags) & ~MS_RDONLY;
    return idmapped_bind(m.source, path, ns->get(), attrs);
  }
  unsigned long flags = MS_BIND | (p.flags & MS_REC);
  if (::mount(m.source.c_str(), path.c_str(), nullptr, flags, nullptr) != 0) {
    int err = errno;
    return mount_error(describe_mount("bind", m.source, display, {}), err, hint_for("bind", err));
  }
  if (Status st = apply_bind_flags(m, p, path, display); !st) {
    ::umount2(path.c_str(), MNT_DETACH);
    return st;
  }
  return {};
}

// Any other filesystem: one mount(2); idmapping replaces the new mount by an idmapped clone.
// `image` is the file behind a loop device m.source, for messages.
Status mount_plain(const Mount& m, const ParsedOptions& p, const std::string& path,
                   const std::string& display, const std::string& image = {}) {
  std::string data = p.data_string();
  const char* src = m.source.empty() ? nullptr : m.source.c_str();
  const char* type = m.type.empty() ? nullptr : m.type.c_str();
  if (::mount(src, path.c_str(), type, p.flags, data.empty() ? nullptr : data.c_str()) != 0) {
    int err = errno;
    if (image.empty())
      return mount_error(describe_mount(m.type, m.source, display, data), err,
                         hint_for(m.type, err));
    std::string hint = hint_for(m.type, err);
    if (err == EINVAL)
      hint = "the kernel found no " + m.type + " filesystem it can mount on the image (is it " +
             "formatted as " + m.type + "? `blkid " + image + "` says what it holds, dmesg why)";
    return mount_error(describe_mount(m.type, image, display, data) + " through loop device " +
                           m.source,
                       err, hint);
  }
  if (!p.idmapped() || (p.flags & MS_REMOUNT))
    return {};
  // Clone the fresh mount, idmap the clone, and put it where the original was.
  Status st;
  auto ns = user_namespace_fd(*p.uidmap, *p.gidmap);
  fs::UniqueFd tree;
  if (!ns) {
    st = ns.error();
  } else {
    tree = fs::UniqueFd(
        ::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (!tree)
      st = mount_error("cannot clone the mount", errno);
  }
  if (st)
    st = detail::idmap_tree(tree.get(), ns->get(), {.recursive = true}, m.type, display);
  ::umount2(path.c_str(), MNT_DETACH);
  if (st)
    st = detail::attach_tree(tree.get(), path, display);
  if (!st)
    return st.error().wrap("cannot idmap the " + m.type + " mount on \"" + display + "\"");
  return {};
}

// The image m.source attached to a loop device (read-only with "ro") and that device mounted.
// The device is returned still held: the caller releases it once the mount is complete, and
// from then on the mount is its only user, so the unmount detaches it (autoclear). On failure
// it is detached before the error returns.
Result<LoopDevice> mount_loop(const Mount& m, const ParsedOptions& p, const std::string& path,
                              const std::string& display) {
  LoopOptions lo;
  lo.readonly = (p.flags & MS_RDONLY) != 0;
  lo.direct_io = p.direct_io;
  auto dev = LoopDevice::attach(m.source, lo);
  if (!dev)
    return std::move(dev).error().wrap(describe_mount(m.type, m.source, display, {}));
  Mount on_device = m;
  on_device.source = dev->path();
  if (Status st = mount_plain(on_device, p, path, display, m.source); !st)
    return st.error(); // dev's destructor detaches it (LOOP_CLR_FD)
  return dev;
}

} // namespace

Status mount_one(const Mount& m, const std::string& root) {
  ParsedOptions p = parse_options(m.options);
  if (!p.internal.empty())
    return invalid_argument("mount of \"" + m.source + "\" on \"" + root + "\": option \"" +
                            p.internal.front() +
                            "\" is for a mount manager and was not consumed before mounting");
  if (p.direct_io && !p.loop)
    return invalid_argument(
        "mount of \"" + m.source + "\" on \"" + root +
        "\": option \"direct-io\" is for loop devices; add \"loop\" or drop it");
  if (p.loop && (m.type == "bind" || m.type == "overlay" || (p.flags & (MS_BIND | MS_REMOUNT))))
    return invalid_argument("mount of \"" + m.source + "\" on \"" + root +
                            "\": option \"loop\" mounts a filesystem image and cannot be "
                            "combined with a bind, an overlay or a remount");
  if (m.type.find('/') != std::string::npos)
    return invalid_argument("mount of \"" + m.source + "\" on \"" + root + "\": type \"" + m.type +
                            "\" carries a mount-manager prefix that nothing handled");

  std::string path = root;
  std::string display = root;
  if (!m.target.empty()) {
    // Resolve inside root so that a symlink or ".." in the snapshot cannot redirect the mount.
    auto r = fs::Root::open(root);
    if (!r)
      return r.error().wrap("mount target root");
    auto dir = r->open_at(m.target, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (!dir)
      return dir.error().wrap("mount target \"" + m.target + "\" inside \"" + root + "\"");
    char buf[4096];
    std::string link = "/proc/self/fd/" + std::to_string(dir->get());
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
    if (n < 0 || static_cast<std::size_t>(n) >= sizeof buf)
      return mount_error("cannot resolve mount target \"" + m.target + "\" inside \"" + root + "\"",
                         n < 0 ? errno : ENAMETOOLONG);
    path.assign(buf, static_cast<std::size_t>(n));
    display = path;
  }

  Status st;
  std::optional<LoopDevice> loop;
  if (p.loop) {
    auto dev = mount_loop(m, p, path, display);
    if (dev)
      loop.emplace(std::move(*dev));
    else
      st = std::move(dev).error();
  } else if (p.flags & MS_REMOUNT)
    st = mount_plain(m, p, path, display);
  else if (m.type == "bind" || (p.flags & MS_BIND))
    st = mount_bind(m, p, path, display);
  else if (m.type == "overlay")
    st = detail::mount_overlay_parsed(m, p, path, display, OverlayMethod::Auto);
  else
    st = mount_plain(m, p, path, display);
  if (!st)
    return st;
  if (p.propagation != 0 && !(p.flags & MS_REMOUNT)) {
    if (Status ps = detail::set_propagation(path, display, p.propagation); !ps) {
      ::umount2(path.c_str(), MNT_DETACH);
      return ps; // `loop` detaches (deferred by the kernel until the detached mount is gone)
    }
  }
  if (loop)
    loop->release(); // the mount is now the device's only user: unmounting it detaches it
  return {};
}

Status mount_all(const std::vector<Mount>& mounts, const std::string& root) {
  for (std::size_t i = 0; i < mounts.size(); ++i) {
    if (Status st = mount_one(mounts[i], root); !st) {
      std::vector<Mount> done(mounts.begin(), mounts.begin() + static_cast<std::ptrdiff_t>(i));
      (void)unmount_mounts(done, root, MNT_DETACH);
      return st;
    }
  }
  return {};
}

} // namespace strata::mount
