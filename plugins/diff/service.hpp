#pragma once
// DiffService: the strata.service.v1.diff instance. It is itself a strata::Differ, so the host
// (and anything else holding it) applies and compares through the SDK interface, and the
// configured differs behind it are tried in order. The plugin glue is in plugin.cpp.

#include "fallback.hpp"

#include <strata/plugin/differ.hpp>

#include <vector>

namespace strata::diffservice {

class DiffService : public Differ {
public:
  /// `order` must not be empty (resolve_order guarantees it); `sync_fs` forces
  /// ApplyOptions::sync_fs on for every apply.
  DiffService(std::vector<Candidate> order, bool sync_fs);

  /// apply_in_order() with opts.sync_fs also set when the service's sync_fs is. The options carry
  /// a plain bool, so a caller cannot ask for "no sync" against a service that syncs: as in
  /// containerd, the service setting only ever turns syncing on. Safe to call concurrently as
  /// long as the differs are. Errors: as first_implemented().
  Result<Descriptor> apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                           const ApplyOptions& opts) override;

  /// compare_in_order(). Errors: as first_implemented().
  Result<Descriptor> compare(const std::vector<Mount>& lower, const std::vector<Mount>& upper,
                             const CompareOptions& opts) override;

  /// The order in effect.
  const std::vector<Candidate>& order() const noexcept { return order_; }
  /// Some differ of the order takes ApplyTarget::UpperdirUnknownLowers; the service then lists
  /// capability::apply_unknown_lowers itself.
  bool apply_unknown_lowers() const noexcept;
  bool sync_fs() const noexcept { return sync_fs_; }

private:
  const std::vector<Candidate> order_;
  const bool sync_fs_;
};

} // namespace strata::diffservice
