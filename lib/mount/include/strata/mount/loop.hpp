#pragma once
/// \file
/// Loop devices: a file attached to a block device so that a filesystem image can be mounted.
/// mount_one() uses this for the "loop" option; plugins that manage images (blockfile) may use
/// it directly.

#include <strata/fs/posix.hpp>
#include <strata/plugin/error.hpp>

#include <string>
#include <vector>

namespace strata::mount {

/// How a file is attached (the LO_FLAGS_* of LOOP_CONFIGURE).
struct LoopOptions {
  /// LO_FLAGS_READ_ONLY: the device refuses writes; the backing file is opened O_RDONLY.
  bool readonly = false;
  /// LO_FLAGS_DIRECT_IO: the device reads and writes the backing file with O_DIRECT, bypassing
  /// the page cache of the filesystem holding it.
  bool direct_io = false;
  /// LO_FLAGS_AUTOCLEAR: the kernel detaches the device when its last user (an open descriptor
  /// or a mount) goes away.
  bool autoclear = true;
};

/// An attached loop device as /sys/block/loopN shows it.
struct LoopInfo {
  /// "/dev/loopN".
  std::string device;
  /// The backing file as the kernel names it (" (deleted)" appended once it was unlinked).
  std::string backing_file;
  /// /sys/block/loopN/ro: the device refuses writes.
  bool readonly = false;
  /// /sys/block/loopN/loop/dio: direct I/O to the backing file is on.
  bool direct_io = false;
  /// /sys/block/loopN/loop/autoclear.
  bool autoclear = false;
};

/// A loop device this process attached, held open. With autoclear (the default) the device
/// lives as long as its users: mount it, then release() (or destroy) this, and the unmount
/// detaches it. Without autoclear, detach() or the destructor detaches it.
class LoopDevice {
public:
  /// Attaches the regular file (or block device) `path` to a free loop device: LOOP_CTL_GET_FREE
  /// on /dev/loop-control, then LOOP_CONFIGURE (Linux 5.8+) with the flags of `opts`. When
  /// another process configures the same free device first (EBUSY), a new one is taken, up to
  /// 16 times.
  /// A file already attached read-write to a loop device, or attached at all when `opts` asks
  /// for read-write, is refused: two filesystems driving one image corrupt it. Read-only next
  /// to read-only is fine.
  /// Errors: NotFound (no `path`, naming it); InvalidArgument (`path` is not a regular file or
  /// block device); FailedPrecondition (attached already as above, naming the device);
  /// PermissionDenied (not CAP_SYS_ADMIN); Unavailable (no /dev/loop-control:
  /// "modprobe loop"; every free device taken by others 16 times in a row); InvalidArgument when
  /// the filesystem holding `path` refuses direct I/O and `opts.direct_io` asks for it;
  /// NotImplemented (a kernel without LOOP_CONFIGURE); otherwise by errno, naming the file and
  /// the device.
  static Result<LoopDevice> attach(const std::string& path, const LoopOptions& opts = {});

  /// Takes `other`'s device; `other` is left empty.
  LoopDevice(LoopDevice&& other) noexcept;
  /// Detaches what this held (as the destructor), then takes `other`'s device.
  LoopDevice& operator=(LoopDevice&& other) noexcept;
  LoopDevice(const LoopDevice&) = delete;
  LoopDevice& operator=(const LoopDevice&) = delete;
  /// detach(), ignoring its error (with autoclear the kernel still detaches the device once its
  /// last user goes).
  ~LoopDevice();

  /// "/dev/loopN"; empty after release() or detach().
  const std::string& path() const noexcept { return path_; }
  /// The file attached, as given to attach().
  const std::string& backing_file() const noexcept { return backing_; }

  /// Closes our descriptor without detaching: with autoclear, the device now lives exactly as
  /// long as its other users (a mount of it). Without autoclear it stays attached until someone
  /// runs LOOP_CLR_FD (`losetup -d`). Idempotent.
  void release() noexcept;

  /// Detaches the device now (LOOP_CLR_FD) and closes our descriptor. When something else still
  /// has it open (a mount), the kernel defers the detach until that user goes. Idempotent.
  /// Errors: by errno of LOOP_CLR_FD, naming the device (ENXIO, already detached, is success).
  Status detach();

private:
  LoopDevice(fs::UniqueFd fd, std::string path, std::string backing)
      : fd_(std::move(fd)), path_(std::move(path)), backing_(std::move(backing)) {}
  fs::UniqueFd fd_;
  std::string path_;
  std::string backing_;
};

/// Every loop device with a backing file, from /sys/block/loop*/loop/backing_file, in no
/// particular order. Devices that exist but are not attached are left out.
/// Errors: by errno when /sys/block cannot be read (no sysfs).
Result<std::vector<LoopInfo>> attached_loops();

/// The loop devices whose backing file is the file open as `fd`, found by device and inode
/// (LOOP_GET_STATUS64), so another path to the same file (a bind mount, a hard link) counts too.
/// Processes attaching at the same instant are not seen until they have.
/// Errors: by errno when `fd` cannot be stat'ed or /sys/block cannot be read.
Result<std::vector<LoopInfo>> loops_backed_by(int fd);

} // namespace strata::mount
