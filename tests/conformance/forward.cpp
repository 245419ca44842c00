// conformance-forward: a snapshotter plugin that requires the overlay snapshotter and forwards
// every call to it. Run through strata-snapshotter-conformance with --plugin-dir holding the
// overlay plugin, it passes only when the tool initialises a plugin's requirements first, for
// every case, as stratad would (conformance-requires in meson.build).
#include <strata/plugin/sdk.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace {

constexpr const char* overlay = "strata.snapshotter.v1.overlayfs";

class Forward final : public strata::Snapshotter {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::snapshotter,
      .id = "conformance-forward",
      .version = "1.0.0",
      .requires_list = {overlay},
  };

  static strata::InitResult init(strata::InitContext& ic) {
    auto to = ic.get_as<strata::Snapshotter>(overlay);
    if (!to)
      return std::move(to).error().wrap("conformance-forward");
    return std::make_shared<Forward>(std::move(*to));
  }

  explicit Forward(std::shared_ptr<strata::Snapshotter> to) : to_(std::move(to)) {}

  strata::Result<strata::Info> stat(const std::string& key) override { return to_->stat(key); }
  strata::Result<strata::Info> update(const strata::Info& info,
                                      const std::vector<std::string>& paths) override {
    return to_->update(info, paths);
  }
  strata::Result<strata::Usage> usage(const std::string& key) override { return to_->usage(key); }
  strata::Result<std::vector<strata::Mount>> mounts(const std::string& key) override {
    return to_->mounts(key);
  }
  strata::Result<std::vector<strata::Mount>> prepare(const std::string& key,
                                                     const std::string& parent,
                                                     const strata::SnapshotOptions& o) override {
    return to_->prepare(key, parent, o);
  }
  strata::Result<std::vector<strata::Mount>> view(const std::string& key, const std::string& parent,
                                                  const strata::SnapshotOptions& o) override {
    return to_->view(key, parent, o);
  }
  strata::Status commit(const std::string& name, const std::string& key,
                        const strata::SnapshotOptions& o) override {
    return to_->commit(name, key, o);
  }
  strata::Status remove(const std::string& key) override { return to_->remove(key); }
  strata::Status walk(const strata::WalkFn& fn, const std::vector<std::string>& filters) override {
    return to_->walk(fn, filters);
  }
  strata::Status cleanup() override { return to_->cleanup(); }
  // The overlay instance is closed by its owner, the host (here: the conformance tool).
  strata::Status close() override { return {}; }

private:
  std::shared_ptr<strata::Snapshotter> to_;
};

} // namespace

STRATA_PLUGIN(Forward)
