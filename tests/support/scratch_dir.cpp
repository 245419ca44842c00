#include "scratch_dir.hpp"

#include "mounts.hpp"

#include <strata/fs/root.hpp>

#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::testing {

Scratch::Scratch(const std::string& prefix, const std::string& parent) {
  std::string tmpl = parent + "/" + prefix + "XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr)
    std::abort();
  path_ = tmpl;
}

Scratch::~Scratch() {
  unmount_below(path_);
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

} // namespace strata::testing
