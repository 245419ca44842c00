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
  if (!reconciled.missing.empty())
    meta.exports["missing_snapshots"] = reconciled.missing_list();
  return std::shared_ptr<Instance>(std::move(snapshotter));
}

} // namespace strata::native
