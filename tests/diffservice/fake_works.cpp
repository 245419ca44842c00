// strata.differ.v1.works: succeeds every call with a descriptor naming itself.
#include "fake_plugin.hpp"

class FakeWorksDiffer final : public diffservice_test::FakePlugin<FakeWorksDiffer> {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::differ,
      .id = "works",
      .version = "1.0.0",
  };
  static constexpr diffservice_test::Behaviour behaviour = diffservice_test::Behaviour::Works;
  using FakePlugin::FakePlugin;
};

STRATA_PLUGIN(FakeWorksDiffer)
