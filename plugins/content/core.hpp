#pragma once
// State shared by the store and the readers and writers it hands out, which may outlive the store
// object itself (a caller can keep a writer after the host closed the plugin).

#include "layout.hpp"

#include <exception>
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

/// Runs `fn`, turning any exception into an Internal error: no exception may leave a plugin
/// method, because the caller is the host, across a shared-object boundary.
template <class Fn> auto guarded(const char* what, Fn&& fn) noexcept -> decltype(fn()) {
  try {
    return fn();
  } catch (const std::exception& e) {
    return internal_error(std::string("content: ") + what + ": " + e.what());
  } catch (...) {
    return internal_error(std::string("content: ") + what + ": unknown exception");
  }
}

} // namespace strata::content
