#pragma once
/// \file
/// ID mappings and idmapped mounts: a user namespace made to order (through a pidfd, so a reused
/// PID can never hand us somebody else's namespace) and bind mounts seen through it.

#include <strata/fs/posix.hpp>
#include <strata/plugin/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::mount {

/// One range of a uid or gid map: `size` ids starting at `container_id` inside the namespace are
/// `host_id`... outside.
struct IdMapping {
  std::uint32_t container_id = 0;
  std::uint32_t host_id = 0;
  std::uint32_t size = 0;
  bool operator==(const IdMapping&) const = default;
};

/// Parses "container:host:size[,container:host:size...]" (the form of the labels
/// containerd.io/snapshot/uidmapping and gidmapping and of the uidmap=/gidmap= mount options).
/// Errors: InvalidArgument naming the entry when a part is not a decimal number below 2^32-1,
/// a size is 0, a range overflows, ranges overlap, or there are more than 340 entries (the
/// kernel's limit).
Result<std::vector<IdMapping>> parse_id_mappings(std::string_view text);

/// The mapping in the "container host size\n" lines that /proc/<pid>/uid_map accepts.
std::string format_proc_id_map(const std::vector<IdMapping>& mappings);

/// A new user namespace with the given uid and gid maps (both in parse_id_mappings form), as an
/// open /proc/<pid>/ns/user file. A helper process is cloned with CLONE_NEWUSER|CLONE_PIDFD,
/// its namespace files are opened by PID and then confirmed to belong to it with
/// pidfd_send_signal(pidfd, 0) before any is used; it is killed and reaped through the pidfd
/// (waitid P_PIDFD) before returning. Safe to call from many threads at once.
/// Errors: InvalidArgument (bad mapping), NotImplemented (no clone3/pidfd support),
/// Unavailable (the helper vanished before it could be confirmed; retrying is safe),
/// PermissionDenied (no right to write the maps), others by errno.
Result<fs::UniqueFd> user_namespace_fd(std::string_view uid_map, std::string_view gid_map);

/// Attributes of an idmapped bind mount besides the mapping.
struct BindAttributes {
  bool recursive = false; ///< clone the whole tree below `source` (rbind) rather than one mount
  bool readonly = false;  ///< MOUNT_ATTR_RDONLY
  /// MS_* flags (MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_NOATIME, MS_STRICTATIME, MS_NODIRATIME,
  /// MS_NOSYMFOLLOW) to set on the new mount as well.
  unsigned long flags = 0;
};

/// Bind-mounts `source` on `target` seen through user namespace `userns_fd`: open_tree
/// (OPEN_TREE_CLONE), mount_setattr(MOUNT_ATTR_IDMAP), move_mount. The new mount is private.
/// Errors: NotImplemented when the kernel lacks the new mount API (ENOSYS) or the filesystem of
/// `source` does not support idmapped mounts (EINVAL); PermissionDenied; NotFound; others by
/// errno; each naming source and target.
Status idmapped_bind(const std::string& source, const std::string& target, int userns_fd,
                     const BindAttributes& attrs = {});

/// True when an idmapped bind mount works on the filesystem holding `dir`: binds a temporary
/// directory created in `dir` with mapping 0:666:1 and checks a root-owned file shows as 666.
bool idmapped_mounts_supported(const std::string& dir);

} // namespace strata::mount
