// The Linux option table: which fstab words are mount(2) flags rather than filesystem data.
#include "strata/mount/options.hpp"

#include <sys/mount.h>

#include <array>
#include <string_view>

namespace strata::mount {
namespace {

struct FlagOption {
  std::string_view name;
  bool clear; // the option removes the flag ("rw") instead of setting it ("ro")
  unsigned long flag;
};

// "ro" is here so that it can never reach the data string (the kernel answers EINVAL to it).
constexpr std::array kFlagOptions{
    FlagOption{"defaults", false, 0},
    FlagOption{"ro", false, MS_RDONLY},
    FlagOption{"rw", true, MS_RDONLY},
    FlagOption{"nosuid", false, MS_NOSUID},
    FlagOption{"suid", true, MS_NOSUID},
    FlagOption{"nodev", false, MS_NODEV},
    FlagOption{"dev", true, MS_NODEV},
    FlagOption{"noexec", false, MS_NOEXEC},
    FlagOption{"exec", true, MS_NOEXEC},
    FlagOption{"sync", false, MS_SYNCHRONOUS},
    FlagOption{"async", true, MS_SYNCHRONOUS},
    FlagOption{"dirsync", false, MS_DIRSYNC},
    FlagOption{"mand", false, MS_MANDLOCK},
    FlagOption{"nomand", true, MS_MANDLOCK},
    FlagOption{"noatime", false, MS_NOATIME},
    FlagOption{"atime", true, MS_NOATIME},
    FlagOption{"nodiratime", false, MS_NODIRATIME},
    FlagOption{"diratime", true, MS_NODIRATIME},
    FlagOption{"relatime", false, MS_RELATIME},
    FlagOption{"norelatime", true, MS_RELATIME},
    FlagOption{"strictatime", false, MS_STRICTATIME},
    FlagOption{"nostrictatime", true, MS_STRICTATIME},
    FlagOption{"lazytime", false, MS_LAZYTIME},
    FlagOption{"nolazytime", true, MS_LAZYTIME},
    FlagOption{"nosymfollow", false, MS_NOSYMFOLLOW},
    FlagOption{"symfollow", true, MS_NOSYMFOLLOW},
    FlagOption{"silent", false, MS_SILENT},
    FlagOption{"loud", true, MS_SILENT},
    FlagOption{"bind", false, MS_BIND},
    FlagOption{"rbind", false, MS_BIND | MS_REC},
    FlagOption{"remount", false, MS_REMOUNT},
};

struct PropagationOption {
  std::string_view name;
  unsigned long flags;
};

constexpr std::array kPropagationOptions{
    PropagationOption{"shared", MS_SHARED},
    PropagationOption{"rshared", MS_SHARED | MS_REC},
    PropagationOption{"slave", MS_SLAVE},
    PropagationOption{"rslave", MS_SLAVE | MS_REC},
    PropagationOption{"private", MS_PRIVATE},
    PropagationOption{"rprivate", MS_PRIVATE | MS_REC},
    PropagationOption{"unbindable", MS_UNBINDABLE},
    PropagationOption{"runbindable", MS_UNBINDABLE | MS_REC},
};

// The atime modes exclude each other; choosing one drops the others.
constexpr unsigned long kAtimeModes = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;

bool apply_flag(ParsedOptions& p, std::string_view opt) {
  for (const auto& f : kFlagOptions) {
    if (f.name != opt)
      continue;
    if (f.clear) {
      p.flags &= ~f.flag;
      p.cleared |= f.flag;
    } else {
      if (f.flag & kAtimeModes) {
        p.flags &= ~kAtimeModes;
        p.cleared |= kAtimeModes & ~f.flag;
      }
      p.flags |= f.flag;
      p.cleared &= ~f.flag;
    }
    return true;
  }
  return false;
}

bool apply_propagation(ParsedOptions& p, std::string_view opt) {
  for (const auto& f : kPropagationOptions) {
    if (f.name == opt) {
      p.propagation = f.flags;
      return true;
    }
  }
  return false;
}

} // namespace

ParsedOptions parse_options(const std::vector<std::string>& options) {
  ParsedOptions p;
  for (const std::string& opt : options) {
    std::string_view o = opt;
    if (apply_flag(p, o) || apply_propagation(p, o))
      continue;
    if (o == "loop") {
      p.loop = true;
    } else if (o == "direct-io") {
      p.direct_io = true;
    } else if (o.starts_with("uidmap=")) {
      p.uidmap = std::string(o.substr(7));
    } else if (o.starts_with("gidmap=")) {
      p.gidmap = std::string(o.substr(7));
    } else if (o.starts_with("X-strata.") || o.starts_with("X-containerd.")) {
      p.internal.push_back(opt);
    } else if (!o.empty()) {
      p.data.push_back(opt);
    }
  }
  return p;
}

} // namespace strata::mount
