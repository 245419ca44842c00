#pragma once
// Helpers every OverlaySnapshotter source file shares: quoting keys in messages, and running a
// method body so that nothing it throws escapes.

#include <strata/plugin/guard.hpp>

#include <string>
#include <utility>

namespace strata::overlay {

/// `s` in double quotes, for keys and paths in messages.
inline std::string q(const std::string& s) {
  return "\"" + s + "\"";
}

// Runs `f` under strata::guard: Snapshotter methods never throw. The context names the
// operation and the key, built only when something was thrown.
template <class F> auto no_throw(const char* what, const std::string& key, F&& f) noexcept {
  return guard([&] { return std::string("overlay snapshotter: ") + what + " " + q(key); },
               std::forward<F>(f));
}

} // namespace strata::overlay
