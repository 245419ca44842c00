#include "init.hpp"

#include "config.hpp"
#include "snapshotter.hpp"

#include <strata/plugin/try.hpp>

namespace strata::native {

InitResult init(InitContext& ic) {
  STRATA_TRY_ASSIGN(auto config, decode(ic.config()));
  Reconciled reconciled;
  STRATA_TRY_ASSIGN(auto snapshotter,
                    NativeSnapshotter::open(ic.root(), config, &reconciled, ic.logger()));
  Meta& meta = ic.meta();
  meta.exports["root"] = ic.root();
  // Shown by `strata plugins ls` so an operator sees the damage without reading logs.
  if (!reconciled.missing.empty()) {
    std::string list;
    for (const std::string& m : reconciled.missing)
      list += (list.empty() ? "" : "; ") + m;
    meta.exports["missing_snapshots"] = list;
  }
  return std::shared_ptr<Instance>(std::move(snapshotter));
}

} // namespace strata::native
