// Loop devices: LOOP_CTL_GET_FREE + LOOP_CONFIGURE to attach, LOOP_CLR_FD to detach, sysfs to
// list what is attached.
#include "strata/mount/loop.hpp"

#include "sys_linux.hpp"

#include <strata/plugin/try.hpp>

#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <memory>
#include <optional>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::mount {
namespace {

// A free device can be configured (or removed) by another process between LOOP_CTL_GET_FREE and
// our LOOP_CONFIGURE; each EBUSY means someone else won that race, so a few tries are plenty.
constexpr int kConfigureAttempts = 16;

const char* const kLoopControl = "/dev/loop-control";

// The backing file, opened only after its type is known: opening a fifo read-only would block.
Result<fs::UniqueFd> open_backing(const std::string& path, bool readonly) {
  fs::UniqueFd pathfd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!pathfd) {
    int err = errno;
    if (err == ENOENT)
      return not_found("loop: the image \"" + path + "\" does not exist");
    return detail::mount_error("loop: cannot open the image \"" + path + "\"", err);
  }
  struct stat st {};
  if (::fstat(pathfd.get(), &st) != 0)
    return detail::mount_error("loop: cannot stat the image \"" + path + "\"", errno);
  if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
    return invalid_argument("loop: \"" + path +
                            "\" is not a regular file or block device; the \"loop\" option needs "
                            "the path of a filesystem image file as the mount source");
  std::string reopen = "/proc/self/fd/" + std::to_string(pathfd.get());
  fs::UniqueFd fd(::open(reopen.c_str(), (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC));
  if (!fd)
    return detail::mount_error("loop: cannot open the image \"" + path + "\"" +
                                   (readonly ? " read-only" : " read-write"),
                               errno);
  return fd;
}

Result<fs::UniqueFd> open_control() {
  fs::UniqueFd ctl(::open(kLoopControl, O_RDWR | O_CLOEXEC));
  if (ctl)
    return ctl;
  int err = errno;
  if (err == ENOENT)
    return unavailable(std::string("loop: ") + kLoopControl +
                       " does not exist: the loop driver is not loaded (modprobe loop), or /dev "
                       "is not a devtmpfs");
  return detail::mount_error(std::string("loop: cannot open ") + kLoopControl, err);
}

Error device_open_error(const std::string& dev, int err) {
  return detail::mount_error("loop: cannot open " + dev, err,
                             err == ENOENT ? "the kernel made the device but /dev has no node for "
                                             "it (is /dev a devtmpfs?)"
                                           : "");
}

// LOOP_CONFIGURE ignores LO_FLAGS_DIRECT_IO when the backing file cannot do direct I/O (its
// block size or filesystem does not allow it); the caller asked for it, so that is an error.
Status check_direct_io(int dev_fd, const std::string& dev, const std::string& path) {
  struct loop_info64 info {};
  if (::ioctl(dev_fd, LOOP_GET_STATUS64, &info) != 0)
    return detail::mount_error("loop: cannot read the status of " + dev, errno);
  if (info.lo_flags & LO_FLAGS_DIRECT_IO)
    return {};
  return invalid_argument("loop: the filesystem holding \"" + path + "\" refuses direct I/O (" +
                          dev +
                          " fell back to buffered I/O); drop the \"direct-io\" option or move the "
                          "image to a filesystem that supports O_DIRECT");
}

Error configure_error(int err, const std::string& dev, const std::string& path,
                      const LoopOptions& opts) {
  std::string what = "loop: cannot attach \"" + path + "\" to " + dev;
  if (err == EINVAL && opts.direct_io)
    return Error(Code::InvalidArgument,
                 detail::mount_error(what, err,
                                     "the filesystem holding the image may refuse direct I/O "
                                     "(drop the \"direct-io\" option); LOOP_CONFIGURE also "
                                     "needs Linux 5.8+")
                     .message());
  if (err == EINVAL || err == ENOTTY)
    return Error(Code::NotImplemented,
                 detail::mount_error(what, err, "LOOP_CONFIGURE needs Linux 5.8+").message());
  return detail::mount_error(what, err);
}

bool read_flag(const std::string& path) {
  auto text = fs::read_small_file(path);
  return text && !text->empty() && (*text)[0] == '1';
}

} // namespace

Result<LoopDevice> LoopDevice::attach(const std::string& path, const LoopOptions& opts) {
  STRATA_TRY_ASSIGN(auto backing, open_backing(path, opts.readonly));
  STRATA_TRY_ASSIGN(auto ctl, open_control());
  // Two filesystems driving one image corrupt it, and the kernel does not stop that: each loop
  // device is a block device of its own. Read-only next to read-only is the one safe sharing.
  STRATA_TRY_ASSIGN(auto holders, loops_backed_by(backing.get()));
  for (const LoopInfo& other : holders)
    if (!opts.readonly || !other.readonly)
      return failed_precondition(
          "loop: \"" + path + "\" is already attached to " + other.device +
          (other.readonly ? " (read-only)" : " (read-write)") + "; attaching it " +
          (opts.readonly ? "read-only" : "read-write") +
          " as well would let two filesystems drive one image and corrupt it: unmount the other "
          "mount first (losetup -a lists the devices)");

  struct loop_config cfg {};
  cfg.fd = static_cast<__u32>(backing.get());
  if (opts.readonly)
    cfg.info.lo_flags |= LO_FLAGS_READ_ONLY;
  if (opts.autoclear)
    cfg.info.lo_flags |= LO_FLAGS_AUTOCLEAR;
  if (opts.direct_io)
    cfg.info.lo_flags |= LO_FLAGS_DIRECT_IO;
  // Only for display (losetup); the kernel keeps the real file itself.
  std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), path.c_str(), LO_NAME_SIZE - 1);

  for (int attempt = 1;; ++attempt) {
    int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0)
      return detail::mount_error("loop: no free loop device for \"" + path + "\"", errno);
    std::string dev = "/dev/loop" + std::to_string(n);
    fs::UniqueFd dev_fd(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!dev_fd) {
      int err = errno;
      // Another process may have removed the device (LOOP_CTL_REMOVE) since it was free.
      if ((err == ENXIO || err == ENOENT) && attempt < kConfigureAttempts)
        continue;
      return device_open_error(dev, err);
    }
    if (::ioctl(dev_fd.get(), LOOP_CONFIGURE, &cfg) != 0) {
      int err = errno;
      if (err == EBUSY && attempt < kConfigureAttempts)
        continue; // another process configured it first
      if (err == EBUSY)
        return unavailable("loop: every free loop device was taken by another process before "
                           "\"" +
                           path + "\" could be attached (" + std::to_string(attempt) +
                           " attempts)");
      return configure_error(err, dev, path, opts);
    }
    LoopDevice device(std::move(dev_fd), std::move(dev), path);
    if (opts.direct_io)
      if (Status st = check_direct_io(device.fd_.get(), device.path_, path); !st)
        return st.error(); // the destructor detaches it
    return device;
  }
}

LoopDevice::LoopDevice(LoopDevice&& other) noexcept
    : fd_(std::move(other.fd_)), path_(std::move(other.path_)),
      backing_(std::move(other.backing_)) {
  other.path_.clear();
}

LoopDevice& LoopDevice::operator=(LoopDevice&& other) noexcept {
  if (this != &other) {
    (void)detach();
    fd_ = std::move(other.fd_);
    path_ = std::move(other.path_);
    backing_ = std::move(other.backing_);
    other.path_.clear();
  }
  return *this;
}

LoopDevice::~LoopDevice() {
  (void)detach();
}

void LoopDevice::release() noexcept {
  fd_.reset();
  path_.clear();
}

Status LoopDevice::detach() {
  if (!fd_)
    return {};
  int rc = ::ioctl(fd_.get(), LOOP_CLR_FD);
  int err = errno;
  std::string dev = path_;
  release();
  if (rc != 0 && err != ENXIO)
    return detail::mount_error("loop: cannot detach " + dev, err);
  return {};
}

namespace {

// /dev/<name> as sysfs shows it, or nullopt when it has no backing file (not attached).
std::optional<LoopInfo> info_of(const std::string& name) {
  std::string sys = "/sys/block/" + name;
  auto backing = fs::read_small_file(sys + "/loop/backing_file");
  if (!backing)
    return std::nullopt; // not attached: the kernel shows loop/ only while a file is
  while (!backing->empty() && backing->back() == '\n')
    backing->pop_back();
  LoopInfo info;
  info.device = "/dev/" + name;
  info.backing_file = std::move(*backing);
  info.readonly = read_flag(sys + "/ro");
  info.direct_io = read_flag(sys + "/loop/dio");
  info.autoclear = read_flag(sys + "/loop/autoclear");
  return info;
}

// Calls fn(name) for each loop device name under /sys/block.
template <class Fn> Status each_loop(Fn&& fn) {
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir("/sys/block"), ::closedir);
  if (!dir)
    return detail::mount_error("loop: cannot list /sys/block", errno);
  while (struct dirent* e = ::readdir(dir.get())) {
    std::string name = e->d_name;
    if (name.starts_with("loop"))
      fn(name);
  }
  return {};
}

} // namespace

Result<std::vector<LoopInfo>> attached_loops() {
  std::vector<LoopInfo> out;
  STRATA_TRY(each_loop([&](const std::string& name) {
    if (auto info = info_of(name))
      out.push_back(std::move(*info));
  }));
  return out;
}

Result<std::vector<LoopInfo>> loops_backed_by(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return fs::sys_error("loop: cannot stat the file to look for", errno);
  std::vector<LoopInfo> out;
  STRATA_TRY(each_loop([&](const std::string& name) {
    // By device and inode, so that another path to the file (a bind mount, a link) counts too.
    fs::UniqueFd dev(::open(("/dev/" + name).c_str(), O_RDONLY | O_CLOEXEC));
    struct loop_info64 li {};
    if (!dev || ::ioctl(dev.get(), LOOP_GET_STATUS64, &li) != 0)
      return; // not attached (ENXIO), or gone meanwhile
    if (li.lo_device != st.st_dev || li.lo_inode != st.st_ino)
      return;
    if (auto info = info_of(name))
      out.push_back(std::move(*info));
  }));
  return out;
}

} // namespace strata::mount
