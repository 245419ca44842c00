#include "init.hpp"

#include "config.hpp"
#include "snapshotter.hpp"

#include <strata/fs/posix.hpp>

#include <cerrno>
#include <filesystem>

namespace strata::blockfile {

InitResult init(InitContext& ic, const ScratchSetup& setup) {
  auto config = decode(ic.config());
  if (!config)
    return std::move(config).error();
  const std::string& root = ic.root();
  if (root.empty() || root.front() != '/')
    return invalid_argument("blockfile snapshotter: plugin root \"" + root + "\" is not absolute");
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec)
    return fs::sys_error("blockfile snapshotter: cannot create " + root, ec.value());
  if (Status st = fs::make_dir(root, 0700); !st)
    return st.error();

  auto skip = ensure_scratch(root, *config, setup);
  if (!skip)
    return std::move(skip).error();
  if (*skip)
    return InitResult::skip(**skip);

  const std::string fs_type(to_string(config->fs_type));
  Reconciled reconciled;
  auto snapshotter = BlockfileSnapshotter::open(root, std::move(*config), &reconciled, ic.logger());
  if (!snapshotter)
    return std::move(snapshotter).error();

  Meta& meta = ic.meta();
  meta.exports["root"] = root;
  meta.exports["fs_type"] = fs_type;
  meta.exports["scratch"] = scratch_path(root);
  // Shown by `strata plugins ls` so an operator sees the damage without reading logs.
  if (!reconciled.missing.empty()) {
    std::string list;
    for (const std::string& m : reconciled.missing)
      list += (list.empty() ? "" : "; ") + m;
    meta.exports["missing_snapshots"] = list;
  }
  return std::shared_ptr<Instance>(std::move(*snapshotter));
}

} // namespace strata::blockfile
