#pragma once
/// \file
/// Dependency graph: the order in which plugins are initialised.

#include "strata/registry/registry.hpp"

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace strata::registry {

/// One plugin in init order. `problem` is set when the plugin can never be initialised: it is
/// part of a dependency cycle (the message prints the cycle) or requires a "<type>.<id>" that is
/// not registered or is disabled.
struct Node {
  Entry entry;
  std::optional<Error> problem;
  /// Resolved dependencies, as URIs, in init order: specific ones and every match of wildcards.
  std::vector<std::string> dependencies;
  /// The subset of `dependencies` named explicitly ("<type>.<id>"): they must be ok for this
  /// plugin to be initialised. Wildcard matches are optional.
  std::vector<std::string> hard_dependencies;
};

/// Orders `entries` so that every plugin comes after what it requires. Deterministic: ties keep
/// registration order. Plugins whose URI is in `disabled` are dropped and never satisfy a
/// dependency. "*" means every other plugin that does not itself require "*"; "<type>.*" every
/// plugin of that type except the requiring plugin itself. Never throws and never recurses
/// without bound: a cycle marks each plugin on it with a problem naming the whole cycle.
std::vector<Node> graph(const std::vector<Entry>& entries, const std::set<std::string>& disabled);

} // namespace strata::registry
