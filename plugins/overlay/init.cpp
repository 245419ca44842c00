#include "init.hpp"

#include "config.hpp"
#include "probe.hpp"
#include "snapshotter.hpp"

#include <strata/fs/posix.hpp>

#include <cerrno>
#include <filesystem>

namespace strata::overlay {

InitResult init(InitContext& ic) {
  auto config = decode(ic.config());
  if (!config)
    return std::move(config).error();
  const std::string& root = ic.root();
  if (root.empty() || root.front() != '/')
    return invalid_argument("overlay snapshotter: plugin root \"" + root + "\" is not absolute");
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec)
    return fs::sys_error("overlay snapshotter: cannot create " + root, ec.value());
  if (Status st = fs::make_dir(root, 0700); !st)
    return st.error();

  auto probed = probe(root);
  if (!probed)
    return std::move(probed).error().wrap("overlay snapshotter: probing overlay on " + root);
  if (probed->unsupported)
    return InitResult::skip(*probed->unsupported);

  Reconciled reconciled;
  auto snapshotter = OverlaySnapshotter::open(root, std::move(*config), probed->features,
                                              &reconciled, ic.logger());
  if (!snapshotter)
    return std::move(snapshotter).error();

  Meta& meta = ic.meta();
  meta.exports["root"] = root;
  if (probed->features.userxattr)
    meta.exports["userxattr"] = "true";
  if (!reconciled.missing.empty())
    meta.exports["missing_snapshots"] = reconciled.missing_list();
  // Commit may name a parent for a parentless active snapshot (parallel unpack).
  meta.capabilities.push_back(capability::rebase);
  if (probed->features.idmap)
    meta.capabilities.push_back(capability::remap_ids);
  return std::shared_ptr<Instance>(std::move(*snapshotter));
}

} // namespace strata::overlay
