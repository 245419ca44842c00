#pragma once
/// \file
/// Label updates by field path: the one semantics of Snapshotter::update and ContentStore::update,
/// so that every snapshotter and content store (first-party or not) updates labels alike.
///
/// A field path is "labels" (replace the whole map with the requested labels) or "labels.<key>"
/// (set <key> to the requested value; a missing or empty requested value deletes it). No field
/// paths at all means "labels". Keys after "labels." are taken whole, dots included
/// ("labels.containerd.io/gc.root" names the key "containerd.io/gc.root"). Empty values are
/// never kept.

#include "strata/plugin/error.hpp"
#include "strata/plugin/snapshot.hpp"

#include <string>
#include <vector>

namespace strata {

/// Checks that every path is "labels" or "labels.<key>" with a non-empty key, so that a caller
/// can refuse a bad request before it looks anything up or changes anything.
/// Errors: InvalidArgument naming the first other path (e.g. "parent", "labels.", "labelsx").
Status check_label_paths(const std::vector<std::string>& fieldpaths);

/// The labels that `current` becomes when updated with `requested` along `fieldpaths` (see the
/// file comment). Pure: the caller stores the result. The order of the paths does not matter.
/// Errors: InvalidArgument as check_label_paths; nothing is computed then.
Result<Labels> update_labels(const Labels& current, const Labels& requested,
                             const std::vector<std::string>& fieldpaths);

} // namespace strata
