#include "init.hpp"

#include "config.hpp"
#include "snapshotter.hpp"

namespace strata::blockfile {

InitResult init(InitContext& ic, const ScratchSetup& setup) {
  auto config = decode(ic.config());
  if (!config)
    return std::move(config).error();
  const std::string& root = ic.root();
  // Opened first: that creates the root (mode 0700) that the scratch is made in.
  Reconciled reconciled;
  auto snapshotter = BlockfileSnapshotter::open(root, *config, &reconciled, ic.logger());
  if (!snapshotter)
    return std::move(snapshotter).error();
  auto skip = ensure_scratch(root, *config, setup);
  if (!skip)
    return std::move(skip).error();
  if (*skip)
    return InitResult::skip(**skip);

  Meta& meta = ic.meta();
  meta.exports["root"] = root;
  meta.exports["fs_type"] = std::string(to_string(config->fs_type));
  meta.exports["scratch"] = scratch_path(root);
  if (!reconciled.missing.empty())
    meta.exports["missing_snapshots"] = reconciled.missing_list();
  return std::shared_ptr<Instance>(std::move(*snapshotter));
}

} // namespace strata::blockfile
