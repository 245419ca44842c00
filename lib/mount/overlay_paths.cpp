// Overlay's escaping rules for layer paths, shared by option building and the mount code.
#include "strata/mount/overlay.hpp"

namespace strata::mount {

std::string escape_overlay_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '\\' || c == ':' || c == ',')
      out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Result<std::vector<std::string>> split_lowerdirs(std::string_view value,
                                                 std::vector<std::string>* data_layers) {
  // Same grammar as the kernel: ':' separates layers unless escaped, "::" starts the data-only
  // layers, and a backslash makes the next character literal.
  std::vector<std::string> layers;
  std::vector<std::string> data;
  bool in_data = false;
  std::string cur;
  bool have_cur = false;
  auto bad = [&](std::string_view why) {
    return invalid_argument("overlay lowerdir \"" + std::string(value) + "\": " + std::string(why));
  };
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size() && value[i] == '\\') {
      if (i + 1 == value.size())
        return bad("ends in a lone backslash");
      cur.push_back(value[++i]);
      have_cur = true;
      continue;
    }
    if (i < value.size() && value[i] != ':') {
      cur.push_back(value[i]);
      have_cur = true;
      continue;
    }
    // A separator or the end.
    if (!have_cur)
      return bad(value.empty() ? "is empty" : "has an empty layer");
    (in_data ? data : layers).push_back(std::move(cur));
    cur.clear();
    have_cur = false;
    if (i == value.size())
      break;
    if (i + 1 < value.size() && value[i + 1] == ':') {
      in_data = true; // "::" introduces (and then separates) the data-only layers
      ++i;
    } else if (in_data) {
      return bad("has a regular layer after data-only layers (\"::\" must separate them)");
    }
  }
  if (data_layers != nullptr)
    *data_layers = std::move(data);
  else
    layers.insert(layers.end(), data.begin(), data.end());
  return layers;
}

Result<std::string> unescape_overlay_path(std::string_view value) {
  auto bad = [&](std::string_view why) {
    return invalid_argument("overlay path \"" + std::string(value) + "\": " + std::string(why));
  };
  if (value.empty())
    return bad("is empty");
  std::string out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (value[i] == ':')
      return bad("holds an unescaped ':' (escape it as \"\\:\")");
    if (value[i] == '\\') {
      if (i + 1 == value.size())
        return bad("ends in a lone backslash");
      ++i;
    }
    out.push_back(value[i]);
  }
  return out;
}

} // namespace strata::mount
