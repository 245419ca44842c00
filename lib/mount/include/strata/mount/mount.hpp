#pragma once
/// \file
/// Turning Mount values into mounts and taking them down again.

#include <strata/mount/options.hpp>
#include <strata/plugin/error.hpp>
#include <strata/plugin/mount.hpp>

#include <string>
#include <vector>

namespace strata::mount {

/// Mounts `m` on `root`, or on its sub-directory `m.target` when that is set (resolved inside
/// `root`: symlinks and ".." cannot leave it). By type:
/// - "bind" (or a "bind"/"rbind" option): a bind mount; "ro", "nosuid", "nodev", "noexec" and the
///   atime options are applied afterwards (a first bind ignores them), for every mount of the
///   tree with "rbind"; with uidmap= and gidmap= an idmapped bind (see idmapped_bind);
/// - "overlay": mount_overlay with OverlayMethod::Auto;
/// - anything else: mount(2) with the flags and the data string; with uidmap= and gidmap= the
///   new mount is then replaced by an idmapped clone of itself. With the "loop" option the
///   source is an image file: it is attached to a free loop device (LoopDevice::attach with
///   autoclear, read-only for "ro", direct I/O for "direct-io") and that device is mounted.
///   The mount is then the device's only user, so unmounting it detaches the device; when the
///   mount fails the device is detached before the error returns.
/// Propagation options ("private", "rslave", ...) are applied last.
/// Errors: InvalidArgument for "X-strata."/"X-containerd." options left unconsumed, for a bad
/// m.target, for "direct-io" without "loop" and for "loop" with a bind, overlay or remount;
/// those of LoopDevice::attach (NotFound for a missing image, Unavailable without
/// /dev/loop-control, ...), prefixed with the mount; otherwise by errno, with a message naming
/// type, source (for a loop mount the image and the loop device), target, options and the
/// errno, plus a hint where a common cause is known.
Status mount_one(const Mount& m, const std::string& root);

/// Mounts every entry in order (later mounts may stack on or below earlier ones). When one
/// fails, those already mounted are unmounted again (in reverse order) before the error returns.
Status mount_all(const std::vector<Mount>& mounts, const std::string& root);

/// umount2(target, flags | UMOUNT_NOFOLLOW); `flags` may add MNT_DETACH or MNT_FORCE. EBUSY is
/// retried up to 50 times, 50 ms apart (a process forked meanwhile may hold the mount briefly).
/// A target that is not a mount point (EINVAL) is success.
/// Errors: Unavailable (still busy after the retries), NotFound, PermissionDenied, by errno.
Status unmount(const std::string& target, int flags = 0);

/// Unmounts `target` repeatedly until it is no longer a mount point (stacked mounts). An empty
/// or missing `target` is success. Errors: as unmount.
Status unmount_all(const std::string& target, int flags = 0);

/// Unmounts what mount_all(mounts, root) mounted, in reverse order. Every entry is attempted;
/// the first error is returned.
Status unmount_mounts(const std::vector<Mount>& mounts, const std::string& root, int flags = 0);

} // namespace strata::mount
