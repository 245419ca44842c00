#include "target.hpp"

#include <strata/mount/overlay.hpp>

#include <algorithm>

namespace strata::walking {

namespace {

bool has_option(const Mount& m, std::string_view opt) {
  return std::find(m.options.begin(), m.options.end(), opt) != m.options.end();
}

std::string option_value(const Mount& m, std::string_view key) {
  for (const auto& o : m.options)
    if (o.size() > key.size() && o.compare(0, key.size(), key) == 0 && o[key.size()] == '=')
      return o.substr(key.size() + 1);
  return {};
}

std::string describe(const std::vector<Mount>& mounts) {
  std::string out;
  for (const auto& m : mounts)
    out += (out.empty() ? "" : ", ") + m.type + " " + m.source;
  return "[" + out + "]";
}

bool is_bind(const Mount& m) {
  return m.type == "bind" || has_option(m, "bind") || has_option(m, "rbind");
}

} // namespace

Result<ApplyTarget> apply_target(const std::vector<Mount>& mounts, strata::ApplyTarget target) {
  if (mounts.size() != 1)
    return not_implemented("walking differ: applies onto exactly one bind or overlay mount, got " +
                           std::to_string(mounts.size()) + " mounts " + describe(mounts));
  const Mount& m = mounts.front();
  if (has_option(m, "ro"))
    return invalid_argument("walking differ: cannot apply onto a read-only mount " + m.type + " " +
                            m.source + " (option \"ro\")");
  ApplyTarget t;
  if (target == strata::ApplyTarget::UpperdirUnknownLowers) {
    // The directory becomes an upperdir once committed onto parents nobody knows yet: whiteouts
    // stay markers, and what needs the parents is NeedsParent (lib/archive's parents_unknown).
    if (!is_bind(m))
      return not_implemented("walking differ: target upperdir-unknown-lowers takes one bind "
                             "mount of the future upperdir, got " +
                             describe(mounts));
    t.dir = m.source;
    t.whiteouts = archive::WhiteoutMode::Overlay;
    t.parents_unknown = true;
  } else if (is_bind(m)) {
    t.dir = m.source;
  } else if (m.type == "overlay") {
    const std::string upper = option_value(m, "upperdir");
    if (upper.empty())
      return not_implemented("walking differ: overlay mount without upperdir (a read-only "
                             "overlay) cannot be applied onto");
    // Option values carry overlay's escapes ('\\', ':' and ',' behind a backslash).
    auto dir = mount::unescape_overlay_path(upper);
    if (!dir)
      return std::move(dir).error().wrap("walking differ: upperdir");
    t.dir = std::move(*dir);
    t.whiteouts = archive::WhiteoutMode::Overlay;
    if (has_option(m, "userxattr"))
      t.opaque_xattr = "user.overlay.opaque";
    if (const std::string lower = option_value(m, "lowerdir"); !lower.empty()) {
      // Data-only layers (after "::") are not part of the merged view: no lookup goes there.
      std::vector<std::string> data_only;
      auto layers = mount::split_lowerdirs(lower, &data_only);
      if (!layers)
        return std::move(layers).error().wrap("walking differ");
      t.lowerdirs = std::move(*layers);
    }
    // No lowerdir: nothing is below (ApplyTarget::Mounts says the mount's lowers are all of
    // them). A layer applied before its parents says so with UpperdirUnknownLowers instead.
  } else if (is_image(mounts)) {
    // A filesystem image (blockfile): its files are reachable only through a mount of it.
    if (m.source.empty() || m.source.front() != '/')
      return invalid_argument("walking differ: image \"" + m.source +
                              "\" must be an absolute path");
    t.image = mounts;
    return t;
  } else {
    return not_implemented("walking differ: mount type \"" + m.type +
                           "\" is not handled (bind, overlay and \"loop\" images are)");
  }
  if (t.dir.empty() || t.dir.front() != '/')
    return invalid_argument("walking differ: mount directory \"" + t.dir +
                            "\" must be an absolute path");
  return t;
}

bool is_image(const std::vector<Mount>& mounts) {
  return mounts.size() == 1 && has_option(mounts.front(), "loop");
}

Result<std::string> plain_directory(const std::vector<Mount>& mounts, const char* which) {
  if (mounts.empty())
    return std::string();
  if (mounts.size() == 1 && is_bind(mounts.front()) && !mounts.front().source.empty() &&
      mounts.front().source.front() == '/')
    return mounts.front().source;
  return not_implemented(std::string("walking differ: compares bind mounts and \"loop\" images "
                                     "only; the ") +
                         which + " mounts are " + describe(mounts));
}

} // namespace strata::walking
