// strata.snapshotter.v1.native: the plugin glue around NativeSnapshotter (snapshotter.hpp).
// Everything else lives in the native-snapshotter static library so tests can use it directly.

#include "config.hpp"
#include "init.hpp"
#include "snapshotter.hpp"

#include <strata/plugin/sdk.hpp>

namespace {

// Only names the spec and the init function for the macro; init returns a NativeSnapshotter.
class NativePlugin final : public strata::native::NativeSnapshotter {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::snapshotter,
      .id = strata::native::plugin_id,
      .version = "0.1.0",
      .config = strata::native::default_config,
  };

  static strata::InitResult init(strata::InitContext& ic) { return strata::native::init(ic); }
};

} // namespace

STRATA_PLUGIN(NativePlugin)
