#include "config.hpp"

#include <strata/config/section.hpp>

namespace strata::overlay {

namespace {

const config::Section kSection("strata.snapshotter.v1.overlayfs");

} // namespace

Result<Config> decode(const json::object& section) {
  Config c;
  for (const auto& [key, value] : section) {
    if (key == "mount_options") {
      if (!value.is_array())
        return kSection.bad_value(key, value, "a list of strings");
      for (const json::value& o : value.as_array()) {
        if (!o.is_string() || o.as_string().empty())
          return kSection.bad_value(key, value, "a list of non-empty strings");
        std::string opt(o.as_string());
        // Options naming our own directories would fight the ones we generate per snapshot.
        for (const char* own : {"lowerdir=", "upperdir=", "workdir=", "uidmap=", "gidmap="})
          if (opt.starts_with(own))
            return kSection.bad_value(key, value,
                                      std::string("free of \"") + own +
                                          "\": the snapshotter sets it for each snapshot");
        c.mount_options.push_back(std::move(opt));
      }
    } else if (key == "upperdir_label" || key == "sync_remove" || key == "slow_chown") {
      if (!value.is_bool())
        return kSection.bad_value(key, value, "true or false");
      bool b = value.as_bool();
      (key == "upperdir_label" ? c.upperdir_label
       : key == "sync_remove"  ? c.sync_remove
                               : c.slow_chown) = b;
    } else {
      return kSection.unknown_key(key, "mount_options, upperdir_label, sync_remove, slow_chown");
    }
  }
  return c;
}

} // namespace strata::overlay
