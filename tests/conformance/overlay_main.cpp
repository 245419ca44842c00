// conformance-overlay: the conformance cases against the overlay snapshotter linked directly
// (plugins/overlay's static library), opened the way its plugin init opens it.

#include "conformance.hpp"

#include "config.hpp"
#include "probe.hpp"
#include "snapshotter.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

int main(int argc, char** argv) {
  using namespace strata;
  conformance::Description d;
  d.name = "overlayfs";
  d.capabilities = {"rebase"}; // what plugins/overlay/init.cpp declares
  d.reopen = true;
  // Probed once where the cases put their roots, as init probes its root; the features decide
  // the mount options (userxattr, index=off).
  overlay::Features features;
  if (::geteuid() != 0) {
    d.skip_reason = "the overlay snapshotter needs root for its mounts";
  } else if (auto probed = overlay::probe(conformance::scratch_parent()); !probed) {
    d.skip_reason = "probing overlay on " + conformance::scratch_parent() +
                    " failed: " + probed.error().to_string();
  } else if (probed->unsupported) {
    d.skip_reason =
        "overlay unsupported on " + conformance::scratch_parent() + ": " + *probed->unsupported;
  } else {
    features = probed->features;
  }
  d.factory = [features](const std::string& root) -> Result<std::shared_ptr<Snapshotter>> {
    auto s = overlay::OverlaySnapshotter::open(root, overlay::Config{}, features);
    if (!s)
      return std::move(s).error();
    return std::shared_ptr<Snapshotter>(std::move(*s));
  };
  conformance::add_snapshotter(std::move(d));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
