#pragma once
/// \file
/// fstab-style mount options as data: which become mount(2) flags, which become filesystem data,
/// and which we interpret ourselves (uidmap=, gidmap=, loop, direct-io). Also the pure
/// transformations of Mount values (read-only form, volatile removal) that need no system call.

#include <strata/plugin/mount.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::mount {

/// The result of splitting a Mount's options. Flag words hold Linux MS_* bits as mount(2) takes
/// them; later options override earlier ones ("ro,rw" is read-write).
struct ParsedOptions {
  /// MS_* bits to set: MS_RDONLY ("ro"), MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS,
  /// MS_DIRSYNC, MS_MANDLOCK, MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME,
  /// MS_LAZYTIME, MS_NOSYMFOLLOW, MS_SILENT, MS_BIND ("bind"), MS_BIND|MS_REC ("rbind"),
  /// MS_REMOUNT ("remount").
  unsigned long flags = 0;
  /// MS_* bits explicitly cleared by "rw", "suid", "dev", "exec", "async", "atime", ... so that a
  /// remount does not carry them over from the mount it modifies.
  unsigned long cleared = 0;
  /// Propagation to apply after the mount: one of MS_SHARED, MS_SLAVE, MS_PRIVATE,
  /// MS_UNBINDABLE, plus MS_REC for the "r" forms ("rprivate", ...); 0 when none was given.
  unsigned long propagation = 0;
  /// Filesystem options, in their original order ("lowerdir=...", "index=off", "size=64m").
  /// Never contains a flag option such as "ro".
  std::vector<std::string> data;
  /// Value of "uidmap=" ("container:host:size[,...]"), interpreted by the idmapped mount code.
  std::optional<std::string> uidmap;
  /// Value of "gidmap=", same form.
  std::optional<std::string> gidmap;
  /// "loop": the source is a filesystem image file; mount_one() attaches it to a loop device
  /// (read-only with "ro") and mounts that device instead (see loop.hpp).
  bool loop = false;
  /// "direct-io": the loop device reads and writes its image with direct I/O (LO_FLAGS_DIRECT_IO).
  /// Meaningful with "loop" only; never passed to the filesystem.
  bool direct_io = false;
  /// Options starting with "X-strata." or "X-containerd.": meant for a layer above this one;
  /// mount_one() refuses to mount while any is left.
  std::vector<std::string> internal;

  /// `data` joined with ',' — the string mount(2) receives.
  std::string data_string() const;
  /// True when both uidmap and gidmap were given (one alone does not request idmapping).
  bool idmapped() const noexcept { return uidmap.has_value() && gidmap.has_value(); }
};

/// Splits options into flags, propagation, our own keys and filesystem data. Never fails:
/// anything unknown is filesystem data, which the kernel judges.
ParsedOptions parse_options(const std::vector<std::string>& options);

/// The filesystem type without a manager prefix ("format/mkdir/overlay" -> "overlay").
std::string_view base_type(std::string_view type) noexcept;

/// True when mounting `m` gives a read-only view: "ro" present (last of ro/rw wins), an erofs
/// mount, or an overlay without "upperdir=".
bool is_readonly(const Mount& m);

/// The read-only form of `mounts`, for looking at a snapshot without changing it:
/// - overlay: "workdir=", "uidmap=" and "gidmap=" dropped, "upperdir=U" folded into the front of
///   "lowerdir=" (U:L...), "ro"/"rw" dropped; a result with a single layer becomes a read-only
///   recursive bind of it, because overlay refuses one lowerdir without an upperdir;
/// - everything else: "rw" and "ro" removed, then "ro" appended ("loop" and "direct-io" stay, so
///   a loop mount becomes a read-only loop device).
/// The input is not modified.
std::vector<Mount> readonly(std::vector<Mount> mounts);

/// `mounts` without the overlay options "volatile" and "fsync=volatile": overlay refuses to
/// mount an upper/work pair again after a volatile mount, so temporary mounts must not use it.
std::vector<Mount> remove_volatile(std::vector<Mount> mounts);

/// `mounts` without "uidmap=..." and "gidmap=..." options.
std::vector<Mount> remove_idmap(std::vector<Mount> mounts);

} // namespace strata::mount
