#include "scratch.hpp"

#include <strata/fs/root.hpp>

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/mount.h>
#include <unistd.h>
#include <vector>

namespace strata::mount::testing {
namespace {

// Mount points from /proc/self/mountinfo, with octal escapes undone.
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

} // namespace

Scratch::Scratch() {
  char tmpl[] = "/tmp/strata-mount-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    std::abort();
  path_ = tmpl;
}

Scratch::~Scratch() {
  // Deepest first; repeat for stacked mounts.
  for (int round = 0; round < 16; ++round) {
    std::vector<std::string> below;
    for (const std::string& p : mount_points())
      if (p == path_ || p.starts_with(path_ + "/"))
        below.push_back(p);
    if (below.empty())
      break;
    std::sort(below.begin(), below.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& p : below)
      ::umount2(p.c_str(), MNT_DETACH);
  }
  (void)fs::remove_all_at(AT_FDCWD, path_, path_);
}

std::string Scratch::dir(const std::string& rel, mode_t mode) const {
  std::string p = path_ + "/" + rel;
  std::filesystem::create_directories(p);
  ::chmod(p.c_str(), mode);
  return p;
}

std::string Scratch::file(const std::string& rel, const std::string& content) const {
  std::string p = path_ + "/" + rel;
  std::filesystem::create_directories(std::filesystem::path(p).parent_path());
  std::ofstream(p, std::ios::binary) << content;
  return p;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool is_mount_point(const std::string& path) {
  auto points = mount_points();
  return std::find(points.begin(), points.end(), path) != points.end();
}

int count_fds() {
  int n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr)
    return -1;
  while (struct dirent* e = ::readdir(d))
    if (e->d_name[0] != '.')
      ++n;
  ::closedir(d);
  return n - 1; // the DIR's own fd
}

} // namespace strata::mount::testing
