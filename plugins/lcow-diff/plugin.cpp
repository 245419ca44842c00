// strata.differ.v1.windows-lcow: the plugin glue around LcowDiffer (differ.hpp).

#include "differ.hpp"

#include <strata/plugin/sdk.hpp>

namespace {

class LcowPlugin final : public strata::lcow::LcowDiffer {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::differ,
      .id = "windows-lcow",
      .version = "0.1.0",
      .requires_list = {"strata.content.v1.*"},
      .config = strata::lcow::default_config,
  };

  static strata::InitResult init(strata::InitContext& ic) {
    auto config = strata::lcow::decode(ic.config());
    if (!config)
      return std::move(config).error();
    auto stores = ic.get_by_type(strata::plugin_type::content);
    if (!stores)
      return std::move(stores).error().wrap("lcow differ needs a content store");
    auto store = std::dynamic_pointer_cast<strata::ContentStore>(stores->front().second);
    if (!store)
      return strata::invalid_argument("lcow differ: plugin strata.content.v1." +
                                      stores->front().first + " is not a ContentStore");
    ic.meta().exports["content"] = "strata.content.v1." + stores->front().first;
    // As containerd: linux on the host architecture (the utility VM runs that kernel).
    ic.meta().platforms.push_back(strata::Platform::host());
    return std::make_shared<LcowPlugin>(std::move(store), std::move(*config), ic.logger());
  }

  using LcowDiffer::LcowDiffer;
};

} // namespace

STRATA_PLUGIN(LcowPlugin)
