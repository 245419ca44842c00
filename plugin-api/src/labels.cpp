#include "strata/plugin/labels.hpp"

#include <algorithm>
#include <string_view>

namespace strata {
namespace {

constexpr std::string_view whole_map = "labels";
constexpr std::string_view key_prefix = "labels.";

// Empty values mean "no such label": they are dropped, never stored.
Labels without_empty(const Labels& labels) {
  Labels out;
  for (const auto& [k, v] : labels)
    if (!v.empty())
      out.emplace(k, v);
  return out;
}

} // namespace

Status check_label_paths(const std::vector<std::string>& fieldpaths) {
  for (const auto& path : fieldpaths)
    if (path != whole_map && !(path.starts_with(key_prefix) && path.size() > key_prefix.size()))
      return invalid_argument("cannot update field \"" + path +
                              "\": only \"labels\" and \"labels.<key>\" can be updated");
  return {};
}

Result<Labels> update_labels(const Labels& current, const Labels& requested,
                             const std::vector<std::string>& fieldpaths) {
  if (auto st = check_label_paths(fieldpaths); !st)
    return std::move(st).error();
  // "labels" anywhere replaces the map; a "labels.<k>" next to it then reads the same requested
  // value, so applying the replacement first makes the result independent of the order.
  const bool replace = fieldpaths.empty() || std::find(fieldpaths.begin(), fieldpaths.end(),
                                                       whole_map) != fieldpaths.end();
  if (replace)
    return without_empty(requested);
  Labels labels = current;
  for (const auto& path : fieldpaths) {
    std::string key = path.substr(key_prefix.size());
    auto it = requested.find(key);
    if (it == requested.end() || it->second.empty())
      labels.erase(key);
    else
      labels[key] = it->second;
  }
  return without_empty(labels);
}

} // namespace strata
