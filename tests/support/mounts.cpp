#include "mounts.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <sys/mount.h>

namespace strata::testing {

std::vector<std::string> mount_points() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string id, parent, dev, root, point;
    ls >> id >> parent >> dev >> root >> point;
    std::string p;
    for (std::size_t i = 0; i < point.size(); ++i) {
      if (point[i] == '\\' && i + 3 < point.size()) {
        p.push_back(static_cast<char>(std::stoi(point.substr(i + 1, 3), nullptr, 8)));
        i += 3;
      } else {
        p.push_back(point[i]);
      }
    }
    out.push_back(p);
  }
  return out;
}

bool is_mount_point(const std::string& path) {
  auto points = mount_points();
  return std::find(points.begin(), points.end(), path) != points.end();
}

void unmount_below(const std::string& path) {
  // Stacked mounts need one round per layer of the stack.
  for (int round = 0; round < 16; ++round) {
    std::vector<std::string> below;
    for (const std::string& p : mount_points())
      if (p == path || p.starts_with(path + "/"))
        below.push_back(p);
    if (below.empty())
      return;
    std::sort(below.begin(), below.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& p : below)
      ::umount2(p.c_str(), MNT_DETACH);
  }
}

} // namespace strata::testing
