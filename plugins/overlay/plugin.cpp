// strata.snapshotter.v1.overlayfs: the plugin glue around OverlaySnapshotter (snapshotter.hpp).
// Everything else lives in the overlay-snapshotter static library so tests can use it directly.

#include "config.hpp"
#include "init.hpp"
#include "snapshotter.hpp"

#include <strata/plugin/sdk.hpp>

namespace {

// Only names the spec and the init function for the macro; init returns an OverlaySnapshotter.
class OverlayPlugin final : public strata::overlay::OverlaySnapshotter {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::snapshotter,
      .id = strata::overlay::plugin_id,
      .version = "0.1.0",
      .config = strata::overlay::default_config,
  };

  static strata::InitResult init(strata::InitContext& ic) { return strata::overlay::init(ic); }
};

} // namespace

STRATA_PLUGIN(OverlayPlugin)
