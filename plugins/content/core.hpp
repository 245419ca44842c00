#pragma once
// State shared by the store and the readers and writers it hands out, which may outlive the store
// object itself (a caller can keep a writer after the host closed the plugin).

#include "layout.hpp"

#include <mutex>
#include <string>

namespace strata::content {

struct Core {
  explicit Core(std::string root) : layout(std::move(root)) {}

  const Layout layout;
  /// Serialises every change of blob presence and labels (commit of labels, update, remove), so
  /// that an update never resurrects the sidecar of a blob being removed.
  std::mutex labels_mu;
};

} // namespace strata::content
