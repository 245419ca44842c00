#include "order.hpp"

#include <strata/plugin/differ.hpp>

#include <algorithm>

namespace strata::diffservice {

Result<Resolved>
resolve_order(const std::vector<std::string>& wanted,
              const std::vector<std::pair<std::string, std::shared_ptr<Instance>>>& available,
              const std::function<std::string(const std::string& id)>& why_missing) {
  Resolved out;
  std::string usable; // every available differ, configured or not, for the error message
  for (const auto& [id, instance] : available)
    if (std::dynamic_pointer_cast<Differ>(instance))
      usable += (usable.empty() ? "" : ", ") + id;
  for (const auto& id : wanted) {
    const auto it = std::find_if(available.begin(), available.end(),
                                 [&](const auto& a) { return a.first == id; });
    if (it == available.end()) {
      out.unavailable.push_back({id, why_missing(id)});
      continue;
    }
    auto differ = std::dynamic_pointer_cast<Differ>(it->second);
    if (!differ) {
      out.unavailable.push_back({id, "strata.differ.v1." + id +
                                         " does not implement strata::Differ (Applier + "
                                         "Comparer); it is a broken plugin"});
      continue;
    }
    out.order.push_back({id, std::move(differ)});
  }
  if (out.order.empty())
    return failed_precondition(
        "none of the differs in default of [plugins.\"strata.service.v1.diff\"] is available (" +
        unavailable_text(out.unavailable) +
        "); available differs: " + (usable.empty() ? std::string("none") : usable) +
        "; fix: install or enable a configured differ, or list an available one in default");
  return out;
}

std::string order_text(const std::vector<Candidate>& order) {
  std::string s;
  for (const auto& c : order)
    s += (s.empty() ? "" : ",") + c.id;
  return s;
}

std::string unavailable_text(const std::vector<Unavailable>& unavailable) {
  std::string s;
  for (const auto& u : unavailable)
    s += (s.empty() ? "" : "; ") + u.id + ": " + u.reason;
  return s;
}

} // namespace strata::diffservice
