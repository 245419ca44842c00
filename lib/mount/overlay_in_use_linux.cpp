// Which mounted overlay already uses a directory as its upperdir or workdir, read from the
// kernel's mount table: nothing needs recording, a stratad restart changes nothing, and a mount
// taken down outside strata is simply gone from the table.
#include "strata/mount/overlay.hpp"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace strata::mount {
namespace {

// mountinfo writes space, tab, newline, backslash (and, in option values, ',') as "\ooo".
std::string unescape_octal(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    bool octal = s[i] == '\\' && i + 3 < s.size();
    if (octal) {
      int v = 0;
      for (std::size_t k = 1; k <= 3 && octal; ++k) {
        char c = s[i + k];
        octal = c >= '0' && c <= '7';
        v = v * 8 + (c - '0');
      }
      if (octal) {
        out.push_back(static_cast<char>(v));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool same_dir(const std::string& path, const struct stat& want) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino;
}

// Kernels differ in whether the shown value keeps overlay's own backslash escapes; either
// spelling naming the directory counts.
bool names_dir(std::string_view shown, const struct stat& want) {
  std::string raw = unescape_octal(shown);
  if (auto path = unescape_overlay_path(raw); path && same_dir(*path, want))
    return true;
  return same_dir(raw, want);
}

} // namespace

std::optional<std::string> overlay_using_dir(const std::string& dir) {
  struct stat want {};
  if (::stat(dir.c_str(), &want) != 0)
    return std::nullopt;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, point, opts, word;
    fields >> id >> parent >> devno >> root >> point >> opts;
    // Optional fields end at a lone "-"; then type, source and the superblock options.
    while (fields >> word && word != "-") {
    }
    std::string type, source, super;
    fields >> type >> source >> super;
    if (type != "overlay")
      continue;
    std::istringstream options(super);
    std::string o;
    while (std::getline(options, o, ',')) {
      std::string_view v(o);
      for (std::string_view key : {"upperdir=", "workdir="})
        if (v.starts_with(key) && names_dir(v.substr(key.size()), want))
          return unescape_octal(point);
    }
  }
  return std::nullopt;
}

} // namespace strata::mount
