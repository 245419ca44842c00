#include "loop_fs.hpp"

#include "command.hpp"
#include "fs_image.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::testing {
namespace {

const char* const kLosetup = "/usr/sbin/losetup";

} // namespace

std::vector<std::string> loops_backed_below(const std::string& dir) {
  std::string out;
  run_command({kLosetup, "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"}, &out);
  std::vector<std::string> found;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const auto space = line.find(' ');
    if (space == std::string::npos)
      continue;
    const std::string back = line.substr(space + 1);
    if (back == dir || back.rfind(dir + "/", 0) == 0)
      found.push_back(line.substr(0, space));
  }
  return found;
}

LoopFs::LoopFs(const std::string& dir, const std::string& name, const std::string& type,
               std::uint64_t size, const std::vector<std::string>& mkfs_args)
    : image_(dir + "/" + name + ".img"), mount_point_(dir + "/" + name) {
  if (Status made = make_fs_image(image_, type, static_cast<std::int64_t>(size), mkfs_args);
      !made) {
    error_ = made.error().message();
    return;
  }
  std::string out, err;
  if (run_command({kLosetup, "--find", "--show", image_}, &out, &err) != 0) {
    error_ = "losetup --find --show " + image_ + " failed: " + err;
    return;
  }
  device_ = out.substr(0, out.find('\n'));
  if (::mkdir(mount_point_.c_str(), 0755) != 0 && errno != EEXIST) {
    error_ = "cannot create " + mount_point_ + ": " + std::strerror(errno);
    return;
  }
  if (::mount(device_.c_str(), mount_point_.c_str(), type.c_str(), 0, nullptr) != 0) {
    error_ = "cannot mount " + device_ + " (" + type + ") at " + mount_point_ + ": " +
             std::strerror(errno);
    return;
  }
  mounted_ = true;
}

LoopFs::~LoopFs() {
  if (mounted_ && ::umount2(mount_point_.c_str(), 0) != 0)
    ::umount2(mount_point_.c_str(), MNT_DETACH);
  if (!device_.empty())
    run_command({kLosetup, "--detach", device_});
}

} // namespace strata::testing
