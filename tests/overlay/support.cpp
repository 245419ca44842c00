#include "support.hpp"

#include <strata/fs/root.hpp>
#include <strata/mount/mount.hpp>

#include <algorithm>
#include <cstdlib>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::overlay::test {
const ProbeResult& probed(const std::string& dir) {
  static std::mutex mu;
  static std::map<std::string, ProbeResult> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(dir);
  if (it == cache.end()) {
    auto r = probe(dir);
    ProbeResult pr;
    if (r)
      pr = *r;
    else
      pr.unsupported = "probe failed: " + r.error().to_string();
    it = cache.emplace(dir, pr).first;
  }
  return it->second;
}

Mounted::Mounted(const std::vector<Mount>& mounts, const std::string& target)
    : mounts_(mounts), target_(target) {
  std::filesystem::create_directories(target_);
  if (Status st = mount::mount_all(mounts_, target_); !st)
    error_ = st.error().to_string();
  else
    mounted_ = true;
}

Mounted::~Mounted() {
  release();
}

void Mounted::release() {
  if (!mounted_)
    return;
  mounted_ = false;
  if (Status st = mount::unmount_mounts(mounts_, target_); !st)
    ADD_FAILURE() << "unmount " << target_ << ": " << st.error().to_string();
}

bool write_file(const std::string& path, const std::string& content) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::ofstream out(path, std::ios::binary);
  out << content;
  out.close();
  return !out.fail();
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::vector<std::string> list(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr)
    return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..")
      out.push_back(n);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace strata::overlay::test
