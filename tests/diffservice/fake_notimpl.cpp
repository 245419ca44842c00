// strata.differ.v1.notimpl: returns NotImplemented for everything, like a differ for another
// platform.
#include "fake_plugin.hpp"

class FakeNotImplDiffer final : public diffservice_test::FakePlugin<FakeNotImplDiffer> {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::differ,
      .id = "notimpl",
      .version = "1.0.0",
  };
  static constexpr diffservice_test::Behaviour behaviour =
      diffservice_test::Behaviour::NotImplemented;
  using FakePlugin::FakePlugin;
};

STRATA_PLUGIN(FakeNotImplDiffer)
