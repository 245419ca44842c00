// strata.service.v1.images: the plugin glue around ImagesService (service.hpp). It finds the
// content store among its dependencies and keeps its records under its own root.

#include "service.hpp"

#include <strata/fs/posix.hpp>
#include <strata/plugin/sdk.hpp>

namespace {

class ImagesPlugin final : public strata::images::ImagesService {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::service,
      .id = "images",
      .version = "0.1.0",
      .requires_list = {"strata.content.v1.*"},
      .config = strata::images::default_config,
  };

  static strata::InitResult init(strata::InitContext& ic) {
    auto config = strata::images::decode(ic.config());
    if (!config)
      return std::move(config).error();
    auto stores = ic.get_by_type(strata::plugin_type::content);
    if (!stores)
      return strata::failed_precondition(
          "the images service needs a content store: no plugin of type " +
          std::string(strata::plugin_type::content) +
          " is ok (put strata-content-content.so in a plugin directory)");
    auto store = std::dynamic_pointer_cast<strata::ContentStore>(stores->front().second);
    if (!store)
      return strata::internal_error("content plugin " + stores->front().first +
                                    " is not a ContentStore");
    if (auto st = strata::fs::make_dir(ic.root(), 0700); !st)
      return st.error();
    auto records = strata::images::RecordStore::open(ic.root() + "/images");
    if (!records)
      return std::move(records).error();
    auto& exports = ic.meta().exports;
    exports["root"] = ic.root();
    exports["content"] = std::string(strata::plugin_type::content) + "." + stores->front().first;
    exports["max_manifest_bytes"] = std::to_string(config->max_manifest_bytes);
    return std::make_shared<ImagesPlugin>(std::move(store), std::move(*records), *config);
  }

  using ImagesService::ImagesService;
};

} // namespace

STRATA_PLUGIN(ImagesPlugin)
