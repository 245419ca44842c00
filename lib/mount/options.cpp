// Pure transformations of Mount values; no system calls.
#include "strata/mount/options.hpp"

#include "strata/mount/overlay.hpp"

#include <algorithm>

namespace strata::mount {
namespace {

// Options as the kernel would see them: each entry may itself hold comma-separated options.
std::vector<std::string> comma_split(const std::vector<std::string>& options) {
  std::vector<std::string> out;
  for (const std::string& o : options) {
    std::size_t start = 0;
    for (;;) {
      std::size_t comma = o.find(',', start);
      out.push_back(
          o.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos)
        break;
      start = comma + 1;
    }
  }
  return out;
}

bool last_is_ro(const std::vector<std::string>& options) {
  bool ro = false;
  for (const std::string& o : options) {
    if (o == "ro")
      ro = true;
    else if (o == "rw")
      ro = false;
  }
  return ro;
}

Mount readonly_overlay(Mount m) {
  std::string upper;
  std::string lower;
  std::vector<std::string> rest;
  for (std::string& o : m.options) {
    if (o.starts_with("upperdir="))
      upper = o.substr(9);
    else if (o.starts_with("lowerdir="))
      lower = o.substr(9);
    else if (o.starts_with("workdir=") || o.starts_with("uidmap=") || o.starts_with("gidmap=") ||
             o == "ro" || o == "rw")
      continue;
    else
      rest.push_back(std::move(o));
  }
  std::string layers = upper.empty() ? lower : lower.empty() ? upper : upper + ":" + lower;
  if (auto split = split_lowerdirs(layers); split && split->size() == 1) {
    // Overlay refuses a single lowerdir without an upperdir; a read-only bind is the same view.
    return Mount{"bind", (*split)[0], m.target, {"ro", "rbind"}};
  }
  m.options.clear();
  if (!layers.empty())
    m.options.push_back("lowerdir=" + layers);
  m.options.insert(m.options.end(), rest.begin(), rest.end());
  return m;
}

} // namespace

std::string ParsedOptions::data_string() const {
  std::string s;
  for (const std::string& d : data) {
    if (!s.empty())
      s.push_back(',');
    s += d;
  }
  return s;
}

std::string_view base_type(std::string_view type) noexcept {
  std::size_t slash = type.rfind('/');
  return slash == std::string_view::npos ? type : type.substr(slash + 1);
}

bool is_readonly(const Mount& m) {
  std::string_view type = base_type(m.type);
  if (type == "erofs")
    return true;
  std::vector<std::string> opts = comma_split(m.options);
  if (last_is_ro(opts))
    return true;
  if (type == "overlay")
    return std::none_of(opts.begin(), opts.end(),
                        [](const std::string& o) { return o.starts_with("upperdir="); });
  return false;
}

std::vector<Mount> readonly(std::vector<Mount> mounts) {
  for (Mount& m : mounts) {
    if (base_type(m.type) == "overlay") {
      m = readonly_overlay(std::move(m));
      continue;
    }
    std::erase_if(m.options, [](const std::string& o) { return o == "ro" || o == "rw"; });
    m.options.push_back("ro");
  }
  return mounts;
}

std::vector<Mount> remove_volatile(std::vector<Mount> mounts) {
  for (Mount& m : mounts) {
    if (base_type(m.type) == "overlay")
      std::erase_if(m.options,
                    [](const std::string& o) { return o == "volatile" || o == "fsync=volatile"; });
  }
  return mounts;
}

std::vector<Mount> remove_idmap(std::vector<Mount> mounts) {
  for (Mount& m : mounts)
    std::erase_if(m.options, [](const std::string& o) {
      return o.starts_with("uidmap=") || o.starts_with("gidmap=");
    });
  return mounts;
}

} // namespace strata::mount
