#include "daemon/init_context.hpp"

namespace strata::host {

HostInitContext::HostInitContext(std::string uri, std::string root, std::string state,
                                 json::object config, std::map<std::string, std::string> properties,
                                 std::set<std::string> allowed, DependencyLookup lookup,
                                 std::shared_ptr<Logger> logger)
    : uri_(std::move(uri)), root_(std::move(root)), state_(std::move(state)),
      config_(std::move(config)), properties_(std::move(properties)), allowed_(std::move(allowed)),
      lookup_(std::move(lookup)), logger_(logger ? std::move(logger) : null_logger()) {}

Result<std::shared_ptr<Instance>> HostInitContext::get(const std::string& uri) const {
  // Only declared dependencies are initialised before this plugin; anything else may not exist
  // yet, so looking it up would make init order an accident.
  if (!allowed_.count(uri))
    return not_found(uri_ + " looked up " + uri +
                     ", which is not among its requires; add it to the plugin's requires_list");
  return lookup_.by_uri(uri);
}

Result<Meta> HostInitContext::dependency_meta(const std::string& uri) const {
  if (!allowed_.count(uri))
    return not_found(uri_ + " asked for the Meta of " + uri +
                     ", which is not among its requires; add it to the plugin's requires_list");
  return lookup_.meta_by_uri(uri);
}

Result<std::vector<std::pair<std::string, std::shared_ptr<Instance>>>>
HostInitContext::get_by_type(const std::string& type) const {
  std::vector<std::pair<std::string, std::shared_ptr<Instance>>> out;
  for (auto& [id, inst] : lookup_.by_type(type))
    if (allowed_.count(type + "." + id))
      out.emplace_back(id, inst);
  if (out.empty())
    return not_found("no initialised plugin of type " + type + " among the requires of " + uri_);
  return out;
}

} // namespace strata::host
