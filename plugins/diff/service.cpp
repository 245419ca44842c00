#include "service.hpp"

#include <exception>

namespace strata::diffservice {

DiffService::DiffService(std::vector<Candidate> order, bool sync_fs)
    : order_(std::move(order)), sync_fs_(sync_fs) {}

Result<Descriptor> DiffService::apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                                      const ApplyOptions& opts) {
  if (!sync_fs_ || opts.sync_fs)
    return apply_in_order(order_, desc, mounts, opts);
  try {
    ApplyOptions forced = opts;
    forced.sync_fs = true;
    return apply_in_order(order_, desc, mounts, forced);
  } catch (const std::exception& e) { // copying the options may allocate
    return internal_error(std::string("diff service apply: ") + e.what());
  }
}

bool DiffService::apply_unknown_lowers() const noexcept {
  for (const auto& c : order_)
    if (c.apply_unknown_lowers)
      return true;
  return false;
}

Result<Descriptor> DiffService::compare(const std::vector<Mount>& lower,
                                        const std::vector<Mount>& upper,
                                        const CompareOptions& opts) {
  return compare_in_order(order_, lower, upper, opts);
}

} // namespace strata::diffservice
