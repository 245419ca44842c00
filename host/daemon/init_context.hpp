#pragma once
// The host's implementation of strata::InitContext for one plugin.

#include "strata/plugin/init_context.hpp"

#include <functional>
#include <set>

namespace strata::host {

/// Lookup of initialised plugins, provided by PluginSet.
struct DependencyLookup {
  /// Instance of `uri`, or an error saying why there is none.
  std::function<Result<std::shared_ptr<Instance>>(const std::string& uri)> by_uri;
  /// Ok instances of `type` in init order.
  std::function<std::vector<std::pair<std::string, std::shared_ptr<Instance>>>(
      const std::string& type)>
      by_type;
  /// Meta of `uri` as its init filled it in, or an error saying why there is none.
  std::function<Result<Meta>(const std::string& uri)> meta_by_uri;
};

class HostInitContext final : public InitContext {
public:
  HostInitContext(std::string uri, std::string root, std::string state, json::object config,
                  std::map<std::string, std::string> properties, std::set<std::string> allowed,
                  DependencyLookup lookup, std::shared_ptr<Logger> logger);

  const std::string& uri() const override { return uri_; }
  const std::string& root() const override { return root_; }
  const std::string& state() const override { return state_; }
  const json::object& config() const override { return config_; }
  const std::map<std::string, std::string>& properties() const override { return properties_; }
  Meta& meta() override { return meta_; }
  Result<std::shared_ptr<Instance>> get(const std::string& uri) const override;
  Result<std::vector<std::pair<std::string, std::shared_ptr<Instance>>>>
  get_by_type(const std::string& type) const override;
  Result<Meta> dependency_meta(const std::string& uri) const override;
  std::shared_ptr<Logger> logger() const override { return logger_; }

private:
  std::string uri_, root_, state_;
  json::object config_;
  std::map<std::string, std::string> properties_;
  Meta meta_;
  std::set<std::string> allowed_; // resolved dependencies of this plugin
  DependencyLookup lookup_;
  std::shared_ptr<Logger> logger_;
};

} // namespace strata::host
