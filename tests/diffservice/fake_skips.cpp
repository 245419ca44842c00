// strata.differ.v1.skips: declines at init for an expected reason, so the diff service has a
// configured differ whose absence has a reason to report.
#include <strata/plugin/sdk.hpp>

class FakeSkipsDiffer final : public strata::Instance {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::differ,
      .id = "skips",
      .version = "1.0.0",
  };
  static strata::InitResult init(strata::InitContext&) {
    return strata::InitResult::skip("fake: needs a kernel feature this test pretends is missing");
  }
};

STRATA_PLUGIN(FakeSkipsDiffer)
