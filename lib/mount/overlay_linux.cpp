// Overlay mounts: the layer list through fsconfig("lowerdir+") when the kernel has it (no page
// limit), through the mount(2) data string otherwise; idmapped lowerdirs; feature probes.
#include "strata/mount/overlay.hpp"

#include "strata/mount/idmap.hpp"
#include "strata/mount/mount.hpp"
#include "sys_linux.hpp"

#include <strata/fs/root.hpp>
#include <strata/plugin/try.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <mutex>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::mount {
namespace {

using detail::describe_mount;
using detail::mount_error;

// fsconfig copies at most this many bytes of a string value, terminator included.
constexpr std::size_t kMaxParamSize = 256;

const char* kOverlayEinvalHint =
    "overlay refused the options (the kernel log, dmesg, names the reason); common causes: more "
    "than 500 layers, upperdir and workdir on different filesystems or one inside the other, a "
    "layer path with an unescaped ':' or ',', one lowerdir without an upperdir";
const char* kOverlayEbusyHint =
    "the upperdir or workdir is in use by another overlay mount (one in another mount namespace, "
    "or a layer of an index=on overlay): a writable snapshot can be mounted only once at a time";

std::string overlay_hint(int err) {
  switch (err) {
  case EINVAL:
    return kOverlayEinvalHint;
  case EBUSY:
    return kOverlayEbusyHint;
  case ENOENT:
    return "a layer, the upperdir, the workdir or the target does not exist";
  case ENODEV:
    return "the kernel has no overlay filesystem (modprobe overlay)";
  case EPERM:
    return "mounting overlay needs CAP_SYS_ADMIN; in a user namespace also \"userxattr\"";
  default:
    return {};
  }
}

// The kernel's own explanation kept in an fs_context ("e overlay: ..." lines).
std::string context_log(int fsfd) {
  std::string log;
  char buf[1024];
  for (;;) {
    ssize_t n = ::read(fsfd, buf, sizeof buf - 1);
    if (n <= 0)
      break;
    std::string_view line(buf, static_cast<std::size_t>(n));
    if (line.size() > 2 && line[1] == ' ')
      line.remove_prefix(2);
    while (!line.empty() && line.back() == '\n')
      line.remove_suffix(1);
    if (!log.empty())
      log += "; ";
    log += line;
  }
  return log;
}

// One overlay parameter as fsconfig takes it.
struct Param {
  std::string key;
  std::string value; // ignored when flag
  bool flag = false;
};

// The overlay options as a layer list plus the remaining options, unescaped.
struct OverlaySpec {
  std::vector<std::string> lower;
  std::vector<std::string> data_layers;
  std::vector<Param> params; // upperdir, workdir and everything else, in order
};

Result<std::string> unescape_one(std::string_view key, std::string_view value) {
  auto path = unescape_overlay_path(value);
  if (!path)
    return path.error().wrap("overlay " + std::string(key));
  return path;
}

Result<OverlaySpec> parse_spec(const ParsedOptions& p) {
  OverlaySpec spec;
  bool have_lower = false;
  for (const std::string& o : p.data) {
    std::size_t eq = o.find('=');
    std::string key = o.substr(0, eq);
    if (eq == std::string::npos) {
      spec.params.push_back({key, {}, true});
      continue;
    }
    std::string value = o.substr(eq + 1);
    if (key == "lowerdir") {
      auto layers = split_lowerdirs(value, &spec.data_layers);
      if (!layers)
        return layers.error();
      spec.lower = std::move(*layers);
      have_lower = true;
    } else if (key == "upperdir" || key == "workdir") {
      auto path = unescape_one(key, value);
      if (!path)
        return path.error();
      spec.params.push_back({key, std::move(*path), false});
    } else {
      spec.params.push_back({key, std::move(value), false});
    }
  }
  if (!have_lower)
    return invalid_argument("overlay mount without a \"lowerdir=\" option");
  return spec;
}

std::string join_layers(const OverlaySpec& spec) {
  std::string s;
  for (const std::string& l : spec.lower) {
    if (!s.empty())
      s.push_back(':');
    s += escape_overlay_path(l);
  }
  for (const std::string& l : spec.data_layers)
    s += "::" + escape_overlay_path(l);
  return s;
}

// The longest directory that holds every layer ("/a/b" for "/a/b/1/fs" and "/a/b/2/fs").
std::string common_parent(const std::vector<std::string>& layers) {
  std::string common = layers.front();
  for (const std::string& l : layers) {
    std::size_t n = 0;
    while (n < common.size() && n < l.size() && common[n] == l[n])
      ++n;
    // Back up to a component boundary unless one is a directory prefix of the other.
    bool boundary = (n == common.size() && (n == l.size() || l[n] == '/')) ||
                    (n == l.size() && common[n] == '/');
    if (!boundary) {
      std::size_t slash = common.rfind('/', n == 0 ? 0 : n - 1);
      n = slash == std::string::npos ? 0 : slash;
    }
    common.resize(n);
  }
  while (common.size() > 1 && common.back() == '/')
    common.pop_back();
  return common;
}

// Lowerdirs seen through one read-only idmapped bind of their common parent, on a temporary
// directory. Overlay takes private clones of its layers' mounts, so the bind is detached as
// soon as the overlay is mounted.
class IdmappedLayers {
public:
  IdmappedLayers() = default;
  IdmappedLayers(const IdmappedLayers&) = delete;
  IdmappedLayers& operator=(const IdmappedLayers&) = delete;
  ~IdmappedLayers() {
    if (dir_.empty())
      return;
    if (mounted_)
      ::umount2(dir_.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    ::rmdir(dir_.c_str());
  }

  Status prepare(OverlaySpec& spec, const ParsedOptions& p, const std::string& display) {
    std::vector<std::string> all = spec.lower;
    all.insert(all.end(), spec.data_layers.begin(), spec.data_layers.end());
    for (const std::string& l : all) {
      if (l.empty() || l.front() != '/')
        return invalid_argument("idmapped overlay on \"" + display + "\": lowerdir \"" + l +
                                "\" is not an absolute path");
    }
    std::string common = common_parent(all);
    if (common.size() <= 1)
      return invalid_argument("idmapped overlay on \"" + display +
                              "\": the lowerdirs have no common parent directory below \"/\" "
                              "(keep the layers of one snapshotter under one directory)");
    auto ns = user_namespace_fd(*p.uidmap, *p.gidmap);
    if (!ns)
      return ns.error().wrap("idmapped overlay on \"" + display + "\"");
    auto dir = detail::make_temp_dir("/tmp", "strata-idmap-");
    if (!dir)
      return dir.error();
    dir_ = std::move(*dir);
    BindAttributes attrs;
    attrs.recursive = true;
    attrs.readonly = true;
    if (Status st = idmapped_bind(common, dir_, ns->get(), attrs); !st)
      return st.error().wrap("idmapped overlay on \"" + display + "\"");
    mounted_ = true;
    for (auto* layers : {&spec.lower, &spec.data_layers})
      for (std::string& l : *layers)
        l = dir_ + l.substr(common.size());
    return {};
  }

private:
  std::string dir_;
  bool mounted_ = false;
};

bool fits_fsconfig(const OverlaySpec& spec) {
  auto fits = [](const std::string& s) { return s.size() < kMaxParamSize; };
  for (const auto* layers : {&spec.lower, &spec.data_layers})
    for (const std::string& l : *layers)
      if (!fits(l))
        return false;
  for (const Param& prm : spec.params)
    if (!fits(prm.value))
      return false;
  return true;
}

Status mount_with_fsconfig(const Mount& m, const ParsedOptions& p, const OverlaySpec& spec,
                           const std::string& path, const std::string& display) {
  auto fail = [&](std::string_view step, int err, int fsfd) {
    std::string log = fsfd >= 0 ? context_log(fsfd) : std::string();
    std::string hint = log.empty() ? overlay_hint(err) : "the kernel says: " + log;
    return mount_error(describe_mount("overlay", m.source, display, p.data_string()) + ": " +
                           std::string(step),
                       err, hint);
  };
  fs::UniqueFd fsfd(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fsfd)
    return fail("fsopen", errno, -1);
  auto set = [&](const char* key, const std::string* value) -> Status {
    int r = value == nullptr ? ::fsconfig(fsfd.get(), FSCONFIG_SET_FLAG, key, nullptr, 0)
                             : ::fsconfig(fsfd.get(), FSCONFIG_SET_STRING, key, value->c_str(), 0);
    if (r == 0)
      return {};
    int err = errno;
    std::string step = std::string("parameter \"") + key + "\"";
    if (value != nullptr)
      step += " = \"" + detail::shorten(*value, 300) + "\"";
    return fail(step, err, fsfd.get());
  };
  if (!m.source.empty())
    STRATA_TRY(set("source", &m.source));
  for (const std::string& l : spec.lower)
    STRATA_TRY(set("lowerdir+", &l));
  for (const std::string& l : spec.data_layers)
    STRATA_TRY(set("datadir+", &l));
  for (const Param& prm : spec.params)
    STRATA_TRY(set(prm.key.c_str(), prm.flag ? nullptr : &prm.value));
  // Superblock flags travel as parameters; per-mount flags as fsmount attributes.
  static constexpr std::pair<unsigned long, const char*> kSbFlags[] = {
      {MS_RDONLY, "ro"},         {MS_SYNCHRONOUS, "sync"}, {MS_DIRSYNC, "dirsync"},
      {MS_LAZYTIME, "lazytime"}, {MS_MANDLOCK, "mand"},
  };
  for (const auto& [bit, key] : kSbFlags)
    if (p.flags & bit)
      STRATA_TRY(set(key, nullptr));
  if (::fsconfig(fsfd.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return fail("creating the filesystem", errno, fsfd.get());
  auto attrs = static_cast<unsigned int>(detail::mount_attr_set(detail::per_mount_flags(p.flags)));
  fs::UniqueFd mnt(::fsmount(fsfd.get(), FSMOUNT_CLOEXEC, attrs));
  if (!mnt)
    return fail("fsmount", errno, fsfd.get());
  if (::move_mount(mnt.get(), "", AT_FDCWD, path.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return fail("attaching it (move_mount)", errno, -1);
  return {};
}

Status mount_with_data(const Mount& m, const ParsedOptions& p, const std::string& data,
                       const std::string& path, const std::string& display) {
  long page = ::sysconf(_SC_PAGESIZE);
  std::size_t limit = page > 0 ? static_cast<std::size_t>(page) : 4096;
  if (data.size() + 1 > limit)
    return invalid_argument(
        describe_mount("overlay", m.source, display, data) + ": the options are " +
        std::to_string(data.size()) + " bytes but mount(2) takes at most " +
        std::to_string(limit - 1) +
        "; this kernel lacks overlay's \"lowerdir+\" parameter (Linux 6.8+) that lifts the limit, "
        "so use fewer layers or a shorter snapshotter root path");
  const char* src = m.source.empty() ? "overlay" : m.source.c_str();
  if (::mount(src, path.c_str(), "overlay", p.flags, data.c_str()) != 0) {
    int err = errno;
    return mount_error(describe_mount("overlay", m.source, display, data), err, overlay_hint(err));
  }
  return {};
}

// Two overlays sharing an upperdir or workdir corrupt each other; the kernel only refuses it
// with index=on, which snapshotters turn off so that lower layers can be shared.
Status refuse_shared_upper(const OverlaySpec& spec, const std::string& display) {
  for (const Param& prm : spec.params) {
    if (prm.flag || (prm.key != "upperdir" && prm.key != "workdir"))
      continue;
    if (auto point = overlay_using_dir(prm.value))
      return failed_precondition(
          "overlay on \"" + display + "\": its " + prm.key + " \"" + prm.value +
          "\" is already in use by the overlay mounted on \"" + *point +
          "\"; a writable snapshot can be mounted only once at a time: use that mount, or "
          "unmount it first (a read-only view can be mounted any number of times)");
  }
  return {};
}

} // namespace

namespace detail {

Status mount_overlay_parsed(const Mount& m, const ParsedOptions& p, const std::string& path,
                            const std::string& display, OverlayMethod method) {
  auto spec = parse_spec(p);
  if (!spec)
    return spec.error().wrap(describe_mount("overlay", m.source, display, p.data_string()));
  STRATA_TRY(refuse_shared_upper(*spec, display));
  IdmappedLayers idmapped;
  if (p.idmapped())
    STRATA_TRY(idmapped.prepare(*spec, p, display));

  if (method == OverlayMethod::Auto)
    method = overlay_lowerdir_append_supported() && fits_fsconfig(*spec) ? OverlayMethod::Fsconfig
                                                                         : OverlayMethod::MountData;
  if (method == OverlayMethod::Fsconfig) {
    if (!overlay_lowerdir_append_supported())
      return not_implemented(describe_mount("overlay", m.source, display, p.data_string()) +
                             ": the kernel lacks overlay's \"lowerdir+\" parameter (Linux 6.8+)");
    return mount_with_fsconfig(m, p, *spec, path, display);
  }
  // Rebuild the data string: the layers may have been moved under the idmapped bind.
  std::string data = "lowerdir=" + join_layers(*spec);
  for (const std::string& o : p.data)
    if (!o.starts_with("lowerdir="))
      data += "," + o;
  return mount_with_data(m, p, data, path, display);
}

} // namespace detail

Status mount_overlay(const Mount& m, const std::string& target, OverlayMethod method) {
  ParsedOptions p = parse_options(m.options);
  if (!p.internal.empty() || p.loop)
    return invalid_argument("overlay on \"" + target + "\": option \"" +
                            (p.loop ? std::string("loop") : p.internal.front()) +
                            "\" does not apply to overlay");
  STRATA_TRY(detail::mount_overlay_parsed(m, p, target, target, method));
  if (p.propagation != 0)
    if (Status st = detail::set_propagation(target, target, p.propagation); !st) {
      ::umount2(target.c_str(), MNT_DETACH);
      return st;
    }
  return {};
}

bool overlay_supported() {
  fs::UniqueFd fd(::fsopen("overlay", FSOPEN_CLOEXEC));
  if (fd)
    return true;
  std::ifstream in("/proc/filesystems");
  std::string line;
  while (std::getline(in, line))
    if (line.ends_with("\toverlay"))
      return true;
  return false;
}

bool overlay_lowerdir_append_supported() {
  static std::once_flag once;
  static bool supported = false;
  std::call_once(once, [] {
    fs::UniqueFd fd(::fsopen("overlay", FSOPEN_CLOEXEC));
    // "/" only has to exist; nothing is created or mounted.
    supported = fd && ::fsconfig(fd.get(), FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0;
  });
  return supported;
}

namespace {

// Mounts an overlay over fresh directories under `dir` built by `fill`, runs `check` on the
// merged directory, and removes everything again. False on any failure.
template <class Extra, class Fill, class Check>
Result<bool> probe_overlay(const std::string& dir, Extra&& extra, Fill&& fill, Check&& check) {
  auto tmp = detail::make_temp_dir(dir, ".strata-overlay-probe-");
  if (!tmp)
    return tmp.error();
  const std::string& t = *tmp;
  bool ok = false;
  bool stuck = false;
  bool made = true;
  for (const char* sub : {"/l1", "/l2", "/upper", "/work", "/merged"})
    made = made && ::mkdir((t + sub).c_str(), 0755) == 0;
  if (made && fill(t)) {
    Mount m{"overlay", "overlay", "", {"lowerdir=" + t + "/l1:" + t + "/l2"}};
    for (std::string& o : extra(t))
      m.options.push_back(std::move(o));
    if (mount_one(m, t + "/merged")) {
      ok = check(t + "/merged");
      stuck = !unmount(t + "/merged", MNT_DETACH);
    }
  }
  if (stuck)
    return ok;
  STRATA_TRY(fs::remove_all_at(AT_FDCWD, t, t));
  return ok;
}

} // namespace

Result<bool> overlay_userxattr_supported(const std::string& dir) {
  return probe_overlay(
      dir,
      [](const std::string& t) {
        return std::vector<std::string>{"upperdir=" + t + "/upper", "workdir=" + t + "/work",
                                        "userxattr"};
      },
      [](const std::string&) { return true; }, [](const std::string&) { return true; });
}

Result<bool> overlay_needs_userxattr(const std::string& dir) {
  // In the initial user namespace trusted.* xattrs work; uid_map then maps all 2^32-1 ids.
  std::ifstream in("/proc/self/uid_map");
  unsigned long long inside = 0, outside = 0, count = 0;
  if ((in >> inside >> outside >> count) && inside == 0 && outside == 0 && count == 4294967295ULL)
    return false;
  return overlay_userxattr_supported(dir);
}

bool idmapped_overlay_supported(const std::string& dir) {
  auto r = probe_overlay(
      dir,
      [](const std::string&) {
        return std::vector<std::string>{"uidmap=0:666:1", "gidmap=0:666:1", "index=off"};
      },
      [](const std::string& t) {
        fs::UniqueFd f(::open((t + "/l2/f").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
        return f && ::fchown(f.get(), 0, 0) == 0;
      },
      [](const std::string& merged) {
        struct stat st {};
        return ::stat((merged + "/f").c_str(), &st) == 0 && st.st_uid == 666 && st.st_gid == 666;
      });
  return r && *r;
}

} // namespace strata::mount
