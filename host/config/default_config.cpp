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
# Client connections served at once; stratad lowers it (with a warning) to half its open-file
# limit. A client over it gets 503 naming this key, except for GET /v1/health and GET
# /v1/plugins, which a few connections past the cap are kept for.
max_connections = 512
# Requests of streaming routes (content uploads and downloads, image import, layer apply)
# served at once; more get 503.
max_streams = 64
# Of those, how many one client process may hold (told apart by the socket's peer pid); at most
# max_streams.
max_streams_per_client = 16
# A streamed body that moves fewer than min_transfer_bytes in any transfer_window_seconds spent
# waiting on its client is cut off, so a client trickling a byte at a time cannot hold a
# streaming slot. 0 turns the check off.
min_transfer_bytes = 16384
transfer_window_seconds = 10
# Threads running the other routes' plugin calls (snapshot removal can take seconds), so that
# /v1/health never waits for them.
workers = 8

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
