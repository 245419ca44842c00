#pragma once
// Formatting an image file with mkfs.<type>, found by absolute path only.

#include "config.hpp"

#include <strata/plugin/error.hpp>

#include <string>
#include <vector>

namespace strata::blockfile {

/// Where mkfs.<type> is looked for, in order: /usr/sbin, then /sbin. Never PATH, never the
/// current directory.
std::vector<std::string> default_mkfs_dirs();

/// The first executable `<dir>/mkfs.<type>` of `dirs`; empty when there is none.
std::string find_mkfs(FsType type, const std::vector<std::string>& dirs);

/// Runs `mkfs` (an absolute path from find_mkfs) on the existing file `image`, quietly and
/// forced (the target is a plain file), with every ext4 structure initialised now (no lazy inode
/// table or journal init, which would later write into each snapshot's image from the kernel's
/// background thread). Runs with the environment LC_ALL=C only, no descriptor but 0-2.
/// Errors: Unavailable when it cannot be started; Internal when it fails or is killed, with its
/// output in the message.
Status run_mkfs(const std::string& mkfs, FsType type, const std::string& image);

} // namespace strata::blockfile
