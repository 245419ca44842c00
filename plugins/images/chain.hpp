#pragma once
// Chain IDs: the names of the committed snapshots an image unpacks into. A chain ID identifies a
// layer together with everything below it, so two images sharing their bottom layers share those
// snapshots.

#include <string>
#include <vector>

namespace strata::images {

/// chain[0] = diff_ids[0]; chain[i] = sha256 of "<chain[i-1]> <diff_ids[i]>" (the OCI image
/// spec's ChainID, which containerd names snapshots by).
std::vector<std::string> chain_ids(const std::vector<std::string>& diff_ids);

} // namespace strata::images
