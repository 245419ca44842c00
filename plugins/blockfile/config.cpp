#include "config.hpp"

#include <strata/config/section.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>

namespace strata::blockfile {

namespace {

const config::Section kSection("strata.snapshotter.v1.blockfile");

} // namespace

std::string_view to_string(FsType t) noexcept {
  return t == FsType::Xfs ? "xfs" : "ext4";
}

Result<std::int64_t> parse_size(std::string_view text) {
  const std::string shown = "size \"" + std::string(text) + "\"";
  std::uint64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p == text.data())
    return invalid_argument(shown + " does not start with a number of bytes");
  std::string_view suffix(p, text.data() + text.size() - p);
  int shift = 0;
  if (!suffix.empty()) {
    switch (std::toupper(static_cast<unsigned char>(suffix.front()))) {
    case 'K':
      shift = 10;
      break;
    case 'M':
      shift = 20;
      break;
    case 'G':
      shift = 30;
      break;
    case 'T':
      shift = 40;
      break;
    default:
      shift = -1;
    }
    suffix.remove_prefix(1);
    // "KiB" and "K" mean the same; "KB" would suggest powers of 1000, so it is refused.
    if (shift < 0 || !(suffix.empty() || suffix == "iB" || suffix == "ib"))
      return invalid_argument(shown + ": the unit must be K, M, G or T (or KiB, MiB, GiB, TiB)");
  }
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (n == 0)
    return invalid_argument(shown + " is zero");
  if (n > (max >> shift))
    return invalid_argument(shown + " is too large");
  return static_cast<std::int64_t>(n << shift);
}

Result<Config> decode(const json::object& section) {
  Config c;
  for (const auto& [key, value] : section) {
    if (key == "scratch_file") {
      if (!value.is_string())
        return kSection.bad_value(key, value, "a string");
      std::string path(value.as_string());
      if (!path.empty() && path.front() != '/')
        return kSection.bad_value(key, value, "an absolute path (or \"\" to generate the scratch)");
      c.scratch_file = std::move(path);
    } else if (key == "fs_type") {
      if (!value.is_string())
        return kSection.bad_value(key, value, "a string");
      if (value.as_string() == "ext4")
        c.fs_type = FsType::Ext4;
      else if (value.as_string() == "xfs")
        c.fs_type = FsType::Xfs;
      else
        return kSection.bad_value(key, value, "\"ext4\" or \"xfs\"");
    } else if (key == "size") {
      if (value.is_int64() || value.is_uint64()) {
        auto n = value.to_number<std::int64_t>();
        if (n <= 0)
          return kSection.bad_value(key, value, "a positive number of bytes");
        c.size = n;
      } else if (value.is_string()) {
        auto n = parse_size(value.as_string());
        if (!n)
          return kSection.bad_value(key, value,
                                    "bytes or a size like \"64MiB\" (" + n.error().message() + ")");
        c.size = *n;
      } else {
        return kSection.bad_value(key, value, "bytes or a size like \"64MiB\"");
      }
    } else if (key == "mount_options") {
      if (!value.is_array())
        return kSection.bad_value(key, value, "a list of strings");
      c.mount_options.clear();
      for (const json::value& o : value.as_array()) {
        if (!o.is_string() || o.as_string().empty())
          return kSection.bad_value(key, value, "a list of non-empty strings");
        std::string opt(o.as_string());
        // Each snapshot is mounted "rw" (active) or "ro" (view): an option here would contradict
        // one of the two.
        if (opt == "rw" || opt == "ro")
          return kSection.bad_value(
              key, value, "free of \"" + opt + "\": the snapshotter sets it for each snapshot");
        c.mount_options.push_back(std::move(opt));
      }
    } else if (key == "recreate_scratch") {
      if (!value.is_bool())
        return kSection.bad_value(key, value, "true or false");
      c.recreate_scratch = value.as_bool();
    } else {
      return kSection.unknown_key(key,
                                  "scratch_file, fs_type, size, mount_options, recreate_scratch");
    }
  }
  if (std::find(c.mount_options.begin(), c.mount_options.end(), "loop") == c.mount_options.end())
    c.mount_options.push_back("loop");
  if (c.fs_type == FsType::Xfs && c.scratch_file.empty() && c.size < xfs_min_size)
    return invalid_argument(kSection.name() + ": size = " + std::to_string(c.size) +
                            " bytes: mkfs.xfs needs at least 300MiB; set size = \"300MiB\" or "
                            "more");
  return c;
}

} // namespace strata::blockfile
