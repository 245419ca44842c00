#pragma once
// Turning the configured differ ids into the order in effect, from the differs the host
// initialised. An id that is not available is left out and reported (see resolve_order).

#include "fallback.hpp"

#include <strata/plugin/instance.hpp>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace strata::diffservice {

/// A configured differ the service cannot use, and why.
struct Unavailable {
  std::string id;
  std::string reason;
};

/// The order in effect and what was left out of the configured one.
struct Resolved {
  std::vector<Candidate> order;         ///< configured order, available differs only
  std::vector<Unavailable> unavailable; ///< configured ids left out, in configured order
};

/// Resolves `wanted` (configured ids, in order) against `available` (initialised strata.differ.v1
/// instances as (id, instance)). A wanted id missing from `available` gets
/// `why_missing(id)` as its reason; one whose instance does not implement strata::Differ is left
/// out too. Leaving entries out rather than failing lets one config serve machines where an
/// optional differ skips itself (a kernel feature missing, say).
/// Errors: FailedPrecondition when no wanted id is usable; the message names every wanted id
/// with its reason and the differs that are available, and how to fix the config.
Result<Resolved>
resolve_order(const std::vector<std::string>& wanted,
              const std::vector<std::pair<std::string, std::shared_ptr<Instance>>>& available,
              const std::function<std::string(const std::string& id)>& why_missing);

/// "a,b" from the ids of `order`; what the service exports as "order".
std::string order_text(const std::vector<Candidate>& order);
/// "a: reason; b: reason"; what the service exports as "unavailable".
std::string unavailable_text(const std::vector<Unavailable>& unavailable);

} // namespace strata::diffservice
