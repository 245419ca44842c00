#include "config/config.hpp"

namespace strata::host {

namespace {

// Must parse to exactly Config{}: a test holds the two together.
constexpr std::string_view text = R"(# stratad configuration.
#
# stratad reads the file given with --config, else /etc/strata/config.toml if it exists, else
# this text. Unknown keys and values of the wrong type are errors, reported with file, line and
# column. `stratad config default` prints this text with every plugin's section filled in;
# `stratad config dump` prints the configuration in effect; `stratad config check` validates a
# file against the plugins that are installed.

# The format of this file. Only version 1 exists.
version = 1

# Persistent data. Each plugin gets <root>/<type>.<id>. Must be an absolute path.
root = "/var/lib/strata"

# Runtime state, which does not survive a reboot. Each plugin gets <state>/<type>.<id>. Must be
# an absolute path, different from root.
state = "/run/strata"

# Directories searched for plugin files (*.so), in order. Absolute paths.
plugin_dirs = ["/usr/lib/strata/plugins", "/usr/local/lib/strata/plugins"]

# Plugins not to initialise, by URI "<type>.<id>", e.g. "strata.snapshotter.v1.native".
# A plugin that requires a disabled plugin by name cannot initialise.
disabled_plugins = []

# Plugins that must initialise successfully, by URI; otherwise stratad does not start.
# e.g. ["strata.snapshotter.v1.overlayfs"]
required_plugins = []

[api]
# The unix socket of the HTTP API. An absolute path.
address = "/run/strata/strata.sock"
# The largest request body accepted, in bytes (1 MiB).
max_body_bytes = 1048576

# Each plugin's settings go in a section named by its URI, in quotes:
#
#   [plugins."strata.snapshotter.v1.overlayfs"]
#   mount_options = []
#
# A section may only set the keys the plugin declares, with the same types; keys left out keep
# the plugin's defaults. `stratad config default` lists every installed plugin's keys.
)";

} // namespace

std::string_view embedded_default_config() {
  return text;
}

} // namespace strata::host
