#pragma once
// A real filesystem of a chosen type (ext4, xfs with reflinks, btrfs) on a small sparse image
// attached to a loop device and mounted, for tests that need that filesystem's behaviour; and the
// loop devices a test left behind.

#include "command.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace strata::testing {

/// Loop devices ("/dev/loopN") whose backing file is `dir` or below it, from `losetup --list`.
std::vector<std::string> loops_backed_below(const std::string& dir);

/// A filesystem image mounted on a loop device while the object lives: the constructor makes
/// `dir`/`name`.img with make_fs_image(type, size, mkfs_args),
/// attaches it with `losetup --find --show` and mounts it at `dir`/`name`. The destructor
/// unmounts it (lazily, should a test have left an fd open) and detaches the device, also when
/// the test failed half-way; the image stays for `dir`'s own cleanup. ok() says whether it is
/// mounted, error() why not.
class LoopFs {
public:
  LoopFs(const std::string& dir, const std::string& name, const std::string& type,
         std::uint64_t size, const std::vector<std::string>& mkfs_args = {});
  ~LoopFs();
  LoopFs(const LoopFs&) = delete;
  LoopFs& operator=(const LoopFs&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  /// Where the filesystem is mounted.
  const std::string& path() const { return mount_point_; }
  /// The loop device ("" when none was attached).
  const std::string& device() const { return device_; }

private:
  std::string image_;
  std::string mount_point_;
  std::string device_;
  bool mounted_ = false;
  std::string error_;
};

} // namespace strata::testing
