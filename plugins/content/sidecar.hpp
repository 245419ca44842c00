#pragma once
// Label sidecars: <root>/labels/<hex>.json holds {"labels":{...},"updated":"<RFC 3339>"}.
// A blob without a sidecar has no labels and was last updated when it was committed. Writers
// serialise through Core::labels_mu; readers need no lock because sidecars are replaced by rename.

#include "layout.hpp"

#include <strata/plugin/snapshot.hpp>

#include <optional>

namespace strata::content {

/// What a sidecar holds.
struct Sidecar {
  Labels labels;
  Timestamp updated{};
};

/// The sidecar of blob `hex`; nullopt when there is none. Errors: DataLoss (unparseable file).
Result<std::optional<Sidecar>> read_sidecar(const Layout& layout, std::string_view hex);

/// Writes the sidecar of blob `hex` atomically and durably.
Status write_sidecar(const Layout& layout, std::string_view hex, const Sidecar& sidecar);

/// Removes the sidecar of blob `hex` if there is one.
Status remove_sidecar(const Layout& layout, std::string_view hex);

} // namespace strata::content
