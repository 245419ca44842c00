#pragma once
// The native snapshotter's configuration, decoded once at init from its [plugins."..."] section.

#include <strata/plugin/error.hpp>
#include <strata/plugin/json.hpp>

namespace strata::native {

/// TOML defaults of [plugins."strata.snapshotter.v1.native"]. The host checks the operator's keys
/// and types against these; decode() checks again so that direct users get the same rules.
inline constexpr const char* default_config =
    R"(# An xattr the new snapshot's filesystem refuses while a parent is copied (a security.* without
# the privilege, user.* where the filesystem keeps none): "warn" skips it and logs a warning,
# "fail" fails the prepare. The same rule as the walking differ's xattr_errors.
xattr_errors = "warn"
# Delete orphaned snapshot directories on every remove, not only the removed one.
sync_remove = false
)";

/// The decoded section.
struct Config {
  bool xattr_errors_fail = false; ///< xattr_errors = "fail"
  bool sync_remove = false;       ///< sweep every orphan directory on remove
};

/// Decodes the effective section. Errors: InvalidArgument naming the key for an unknown key or a
/// value of the wrong type.
Result<Config> decode(const json::object& section);

} // namespace strata::native
