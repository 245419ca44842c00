// strata.differ.v1.fails: fails every call with Internal "boom"; a fallback must stop at it.
#include "fake_plugin.hpp"

class FakeFailsDiffer final : public diffservice_test::FakePlugin<FakeFailsDiffer> {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::differ,
      .id = "fails",
      .version = "1.0.0",
  };
  static constexpr diffservice_test::Behaviour behaviour = diffservice_test::Behaviour::Fails;
  using FakePlugin::FakePlugin;
};

STRATA_PLUGIN(FakeFailsDiffer)
