#pragma once
// FakeInitContext: an InitContext for tests that call a plugin's init (or code that takes a
// context) without a host.

#include <strata/plugin/init_context.hpp>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace strata::testing {

/// Fixed uri, directories and config, no dependencies (get and get_by_type are NotFound). It
/// implements only what InitContext requires, as a plugin author's test double would, so
/// dependency_meta() and logger() are the SDK's defaults (NotImplemented; null_logger()).
class FakeInitContext : public InitContext {
public:
  explicit FakeInitContext(std::string uri = "", std::string root = "", std::string state = "",
                           json::object config = {})
      : uri_(std::move(uri)), root_(std::move(root)), state_(std::move(state)),
        config_(std::move(config)) {}

  const std::string& uri() const override { return uri_; }
  const std::string& root() const override { return root_; }
  const std::string& state() const override { return state_; }
  const json::object& config() const override { return config_; }
  const std::map<std::string, std::string>& properties() const override { return props_; }
  Meta& meta() override { return meta_; }
  Result<std::shared_ptr<Instance>> get(const std::string& uri) const override {
    return not_found("no plugin " + uri);
  }
  Result<std::vector<std::pair<std::string, std::shared_ptr<Instance>>>>
  get_by_type(const std::string& type) const override {
    return not_found("no plugins of type " + type);
  }

private:
  std::string uri_, root_, state_;
  json::object config_;
  std::map<std::string, std::string> props_;
  Meta meta_;
};

} // namespace strata::testing
