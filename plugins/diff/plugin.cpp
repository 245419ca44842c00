// strata.service.v1.diff: the plugin glue around DiffService (service.hpp). It reads the
// configured order, resolves it against the differs the host initialised (order.hpp) and exports
// the order in effect so that `strata plugins ls --detailed` shows which differs serve.

#include "config.hpp"
#include "order.hpp"
#include "service.hpp"

#include <strata/plugin/sdk.hpp>

namespace {

// Why a configured differ is not among the initialised ones, in the operator's terms.
std::string why_missing(const strata::InitContext& ic, const std::string& id) {
  const std::string uri = std::string(strata::plugin_type::differ) + "." + id;
  auto r = ic.get(uri);
  if (r)
    return "initialised but not listed by the host (a host bug)";
  // FailedPrecondition: it was loaded and failed or skipped; the host's message says which and
  // why. Anything else: no loaded file registers it (the host only lets a plugin look up
  // dependencies it knows, so an unknown URI is refused as "not among its requires").
  if (r.error().code() == strata::Code::FailedPrecondition)
    return r.error().message();
  return "no plugin " + uri + " is loaded (no file in plugin_dirs provides it, or it is in " +
         "disabled_plugins)";
}

class DiffPlugin final : public strata::diffservice::DiffService {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::service,
      .id = "diff",
      .version = "0.1.0",
      .requires_list = {"strata.differ.v1.*"},
      .config = strata::diffservice::default_config,
  };

  static strata::InitResult init(strata::InitContext& ic) {
    auto config = strata::diffservice::decode(ic.config());
    if (!config)
      return std::move(config).error();
    // NotFound here only means "no differ initialised"; resolve_order then reports every
    // configured id with its own reason, which says more than the bare NotFound.
    std::vector<std::pair<std::string, std::shared_ptr<strata::Instance>>> available;
    if (auto differs = ic.get_by_type(strata::plugin_type::differ); differs)
      available = std::move(*differs);
    auto resolved = strata::diffservice::resolve_order(
        config->order, available, [&ic](const std::string& id) { return why_missing(ic, id); });
    if (!resolved)
      return std::move(resolved).error();
    for (auto& c : resolved->order) {
      auto meta = ic.dependency_meta(std::string(strata::plugin_type::differ) + "." + c.id);
      c.apply_unknown_lowers =
          meta && strata::has_capability(*meta, strata::capability::apply_unknown_lowers);
    }
    auto& exports = ic.meta().exports;
    exports["order"] = strata::diffservice::order_text(resolved->order);
    exports["sync_fs"] = config->sync_fs ? "true" : "false";
    if (!resolved->unavailable.empty())
      exports["unavailable"] = strata::diffservice::unavailable_text(resolved->unavailable);
    auto service = std::make_shared<DiffPlugin>(std::move(resolved->order), config->sync_fs);
    // Images unpacks in parallel only through a service that can hand the target on.
    if (service->apply_unknown_lowers())
      ic.meta().capabilities.push_back(strata::capability::apply_unknown_lowers);
    return service;
  }

  using DiffService::DiffService;
};

} // namespace

STRATA_PLUGIN(DiffPlugin)
