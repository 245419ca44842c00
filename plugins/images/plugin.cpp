// strata.service.v1.images: the plugin glue around ImagesService (service.hpp). It finds the
// content store, the snapshotters and the diff service among its dependencies and keeps its
// records under its own root. Snapshotters and the diff service are optional: without them the
// service imports and lists images, and unpack says what is missing.

#include "service.hpp"

#include <strata/fs/posix.hpp>
#include <strata/plugin/sdk.hpp>

#include <algorithm>
#include <string>

namespace {

class ImagesPlugin final : public strata::images::ImagesService {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::service,
      .id = "images",
      .version = "0.1.0",
      .requires_list = {"strata.content.v1.*", "strata.snapshotter.v1.*",
                        "?strata.service.v1.diff"},
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
    auto unpack = unpack_environment(ic);
    if (!unpack)
      return std::move(unpack).error();
    exports["snapshotters"] = std::to_string(unpack->snapshotters.size());
    exports["sync_fs"] = config->sync_fs ? "true" : "false";
    exports["max_parallel_layers"] = std::to_string(config->max_parallel_layers);
    return std::make_shared<ImagesPlugin>(std::move(store), std::move(*records), *config,
                                          std::move(*unpack));
  }

  // The snapshotters (with their rebase capability) and the diff service, after removing the
  // active snapshots a crash left in the middle of an unpack: no unpack runs before init ends.
  static strata::Result<strata::images::UnpackEnvironment>
  unpack_environment(strata::InitContext& ic) {
    strata::images::UnpackEnvironment env;
    if (auto diff = ic.get_as<strata::Differ>("strata.service.v1.diff")) {
      env.differ = std::move(*diff);
      auto meta = ic.dependency_meta("strata.service.v1.diff");
      env.differ_applies_unknown_lowers =
          meta && strata::has_capability(*meta, strata::capability::apply_unknown_lowers);
    }
    auto snapshotters = ic.get_by_type(strata::plugin_type::snapshotter);
    if (!snapshotters)
      return env;
    for (auto& [id, instance] : *snapshotters) {
      auto sn = std::dynamic_pointer_cast<strata::Snapshotter>(instance);
      if (!sn)
        continue;
      const std::string uri = std::string(strata::plugin_type::snapshotter) + "." + id;
      auto meta = ic.dependency_meta(uri);
      bool rebase = meta && strata::has_capability(*meta, strata::capability::rebase);
      auto leftovers = strata::images::remove_unpack_leftovers(*sn);
      if (!leftovers)
        return std::move(leftovers).error().wrap("images service: cleaning up " + uri);
      if (!leftovers->empty())
        ic.logger()->info("removed " + std::to_string(leftovers->size()) +
                          " active snapshot(s) of " + uri +
                          " left by an unpack that did not finish");
      env.snapshotters.emplace(id, strata::images::UnpackTarget{std::move(sn), rebase});
    }
    return env;
  }

  using ImagesService::ImagesService;
};

} // namespace

STRATA_PLUGIN(ImagesPlugin)
