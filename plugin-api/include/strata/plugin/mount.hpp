#pragma once
/// \file
/// Mount: how to make a snapshot visible, as data; lib/mount turns it into mount(2) calls.

#include "strata/plugin/json.hpp"

#include <string>
#include <vector>

namespace strata {

/// One mount(2) call described as data, e.g. {"overlay", "overlay", "", {"lowerdir=...", ...}}.
struct Mount {
  std::string type;                 ///< filesystem type: "bind", "overlay", "ext4", ...
  std::string source;               ///< device or directory
  std::string target;               ///< sub-path below the mount point; usually empty
  std::vector<std::string> options; ///< fstab-style options, flags ("ro") and data alike
  bool operator==(const Mount&) const = default;
};

/// JSON: {"type","source","target","options":[...]}; "target" and "options" may be omitted.
void tag_invoke(const json::value_from_tag&, json::value& jv, const Mount& m);
Mount tag_invoke(const json::value_to_tag<Mount>&, const json::value& jv);

} // namespace strata
