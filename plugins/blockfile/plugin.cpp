// strata.snapshotter.v1.blockfile: the plugin glue around BlockfileSnapshotter (snapshotter.hpp).
// Everything else lives in the blockfile-snapshotter static library so tests can use it directly.

#include "config.hpp"
#include "init.hpp"
#include "mkfs.hpp"
#include "snapshotter.hpp"

#include <strata/plugin/sdk.hpp>

namespace {

// Only names the spec and the init function for the macro; init returns a BlockfileSnapshotter.
class BlockfilePlugin final : public strata::blockfile::BlockfileSnapshotter {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::snapshotter,
      .id = strata::blockfile::plugin_id,
      .version = "0.1.0",
      .config = strata::blockfile::default_config,
  };

  static strata::InitResult init(strata::InitContext& ic) {
    return strata::blockfile::init(ic, {strata::blockfile::default_mkfs_dirs()});
  }
};

} // namespace

STRATA_PLUGIN(BlockfilePlugin)
