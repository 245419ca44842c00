// Overlay feature probes on Linux: real mounts under the snapshotter root.
#include "probe.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/root.hpp>
#include <strata/mount/idmap.hpp>
#include <strata/mount/mount.hpp>
#include <strata/mount/overlay.hpp>

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <string_view>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>
#include <vector>

namespace strata::overlay {
namespace {

constexpr long kOverlayMagic = 0x794c7630; // OVERLAYFS_SUPER_MAGIC

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

Status write_file(const std::string& path) {
  fs::UniqueFd fd(::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
  if (!fd)
    return fs::sys_error("cannot create " + path, errno);
  return {};
}

// A scratch directory under the root, removed (after a lazy unmount of anything left mounted)
// whatever happens.
class ProbeDir {
public:
  static Result<ProbeDir> create(const std::string& root) {
    auto suffix = fs::random_hex(8);
    if (!suffix)
      return std::move(suffix).error();
    std::string path = root + "/.overlay-probe-" + *suffix;
    if (::mkdir(path.c_str(), 0700) != 0)
      return fs::sys_error("overlay probe: cannot create " + path, errno);
    return ProbeDir(std::move(path));
  }
  ProbeDir(ProbeDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ProbeDir& operator=(ProbeDir&&) = delete;
  ~ProbeDir() { (void)remove(); }

  const std::string& path() const { return path_; }

  Status remove() {
    if (path_.empty())
      return {};
    ::umount2((path_ + "/merged").c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    Status st = fs::remove_all_at(AT_FDCWD, path_, path_);
    path_.clear();
    return st;
  }

private:
  explicit ProbeDir(std::string p) : path_(std::move(p)) {}
  std::string path_;
};

// Readdir reports the file type: overlay needs it (xfs without ftype=1 lacks it).
Result<bool> has_d_type(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return fs::sys_error("overlay probe: cannot read " + dir, errno);
  bool typed = false;
  while (struct dirent* e = ::readdir(d))
    if (std::strcmp(e->d_name, "f") == 0)
      typed = e->d_type == DT_REG;
  ::closedir(d);
  return typed;
}

// Mounts a one-lower overlay with an upperdir and checks that deleting a lower file and
// replacing a lower directory work through it: the second needs an opaque directory, i.e.
// working overlay xattrs, which a mount that silently fell back to no-xattr mode would lack.
// Returns "" when everything works, else what failed.
Result<std::string> try_overlay(const std::string& root, bool index_option, bool userxattr) {
  auto dir = ProbeDir::create(root);
  if (!dir)
    return std::move(dir).error();
  const std::string t = dir->path();
  for (const char* sub : {"/lower", "/lower/d", "/upper", "/work", "/merged"})
    if (::mkdir((t + sub).c_str(), 0755) != 0)
      return fs::sys_error("overlay probe: cannot create " + t + sub, errno);
  for (const char* f : {"/lower/f", "/lower/d/x"})
    if (Status st = write_file(t + f); !st)
      return st.error();

  Mount m{"overlay",
          "overlay",
          "",
          {"workdir=" + mount::escape_overlay_path(t + "/work"),
           "upperdir=" + mount::escape_overlay_path(t + "/upper"),
           "lowerdir=" + mount::escape_overlay_path(t + "/lower")}};
  if (index_option)
    m.options.push_back("index=off");
  if (userxattr)
    m.options.push_back("userxattr");
  std::string problem;
  const std::string merged = t + "/merged";
  if (Status st = mount::mount_one(m, merged); !st) {
    problem = st.error().message();
  } else {
    if (::unlink((merged + "/f").c_str()) != 0 || exists(merged + "/f"))
      problem = "deleting a lower file through the overlay failed (whiteouts do not work)";
    else if (::unlink((merged + "/d/x").c_str()) != 0 || ::rmdir((merged + "/d").c_str()) != 0 ||
             ::mkdir((merged + "/d").c_str(), 0755) != 0 || exists(merged + "/d/x"))
      problem = "a directory replaced through the overlay still shows the lower files (opaque "
                "directories need overlay xattrs, which this filesystem refuses)";
    if (Status st = mount::unmount(merged, MNT_DETACH); !st && problem.empty())
      problem = st.error().message();
  }
  if (Status st = dir->remove(); !st)
    return st.error();
  return problem;
}

std::string fs_note(const std::string& root) {
  struct statfs sfs {};
  if (::statfs(root.c_str(), &sfs) == 0 && static_cast<long>(sfs.f_type) == kOverlayMagic)
    return " (" + root +
           " is itself on overlayfs, which cannot hold an overlay upperdir; put "
           "the strata root on a real filesystem such as ext4 or xfs)";
  return {};
}

// Probe directories a crash left behind (possibly with the probe overlay still mounted).
Status remove_stale_probes(const std::string& root) {
  std::vector<std::string> stale;
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr)
    return fs::sys_error("overlay probe: cannot read " + root, errno);
  while (struct dirent* e = ::readdir(d))
    if (std::string_view(e->d_name).starts_with(".overlay-probe-"))
      stale.emplace_back(root + "/" + e->d_name);
  ::closedir(d);
  for (const std::string& path : stale) {
    (void)mount::unmount_all(path + "/merged", MNT_DETACH);
    if (Status st = fs::remove_all_at(AT_FDCWD, path, path); !st)
      return st;
  }
  return {};
}

} // namespace

Result<ProbeResult> probe(const std::string& root) {
  ProbeResult r;
  if (Status st = remove_stale_probes(root); !st)
    return st.error();
  if (!mount::overlay_supported()) {
    r.unsupported = "the kernel has no overlay filesystem (try modprobe overlay)";
    return r;
  }
  {
    auto dir = ProbeDir::create(root);
    if (!dir)
      return std::move(dir).error();
    if (Status st = write_file(dir->path() + "/f"); !st)
      return st.error();
    auto typed = has_d_type(dir->path());
    if (!typed)
      return std::move(typed).error();
    if (Status st = dir->remove(); !st)
      return st.error();
    if (!*typed) {
      r.unsupported = "the filesystem of " + root +
                      " does not report file types in directory listings (d_type), which "
                      "overlay needs; for xfs, format it with ftype=1";
      return r;
    }
  }
  // Without the module parameter the kernel predates the index feature and rejects "index=off".
  r.features.index_option = ::access("/sys/module/overlay/parameters/index", F_OK) == 0;

  auto plain = try_overlay(root, r.features.index_option, false);
  if (!plain)
    return std::move(plain).error();
  if (!plain->empty()) {
    auto with_userxattr = try_overlay(root, r.features.index_option, true);
    if (!with_userxattr)
      return std::move(with_userxattr).error();
    if (!with_userxattr->empty()) {
      r.unsupported = "overlay with an upperdir on " + root + " does not work" + fs_note(root) +
                      ": " + *plain + "; with userxattr: " + *with_userxattr;
      return r;
    }
    r.features.userxattr = true;
  }
  r.features.idmap =
      mount::idmapped_mounts_supported(root) && mount::idmapped_overlay_supported(root);
  return r;
}

} // namespace strata::overlay
