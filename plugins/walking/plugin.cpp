// strata.differ.v1.walking: the plugin glue around WalkingDiffer (differ.hpp).

#include "differ.hpp"

#include <strata/plugin/sdk.hpp>
#include <strata/streamproc/processor.hpp>

namespace {

class WalkingPlugin final : public strata::walking::WalkingDiffer {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::differ,
      .id = "walking",
      .version = "0.1.0",
      .requires_list = {"strata.content.v1.*"},
      .config = strata::walking::default_config,
  };

  static strata::InitResult init(strata::InitContext& ic) {
    auto config = strata::walking::decode(ic.config());
    if (!config)
      return std::move(config).error();
    auto stores = ic.get_by_type(strata::plugin_type::content);
    if (!stores)
      return std::move(stores).error().wrap("walking differ needs a content store");
    auto store = std::dynamic_pointer_cast<strata::ContentStore>(stores->front().second);
    if (!store)
      return strata::invalid_argument("walking differ: plugin strata.content.v1." +
                                      stores->front().first + " is not a ContentStore");
    // A processor that cannot run is reported here, at start, not found out mid-unpack.
    std::string usable, unusable;
    for (const auto& p : config->processors) {
      if (auto st = strata::streamproc::check(p); st)
        usable += (usable.empty() ? "" : ",") + p.id;
      else
        unusable += (unusable.empty() ? "" : "; ") + st.error().message();
    }
    ic.meta().exports["content"] = "strata.content.v1." + stores->front().first;
    // What applies really use: "zlib" also when "isal" was asked of a build without ISA-L.
    ic.meta().exports["gzip_decoder"] =
        std::string(strata::archive::to_string(strata::archive::effective(config->gzip_decoder)));
    ic.meta().exports["decompress_thread"] = config->decompress_thread ? "true" : "false";
    if (!usable.empty())
      ic.meta().exports["stream_processors"] = usable;
    // apply() keeps whiteouts as markers and answers NeedsParent for UpperdirUnknownLowers.
    ic.meta().capabilities.push_back(strata::capability::apply_unknown_lowers);
    if (!unusable.empty())
      ic.meta().exports["stream_processors_unavailable"] = unusable;
    return std::make_shared<WalkingPlugin>(std::move(store), std::move(*config), ic.logger());
  }

  using WalkingDiffer::WalkingDiffer;
};

} // namespace

STRATA_PLUGIN(WalkingPlugin)
