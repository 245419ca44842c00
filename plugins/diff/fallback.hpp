#pragma once
// The diff service's one rule, kept apart from the plugin glue so that it is tested with
// in-process differs: try differs in order, move on to the next one only on NotImplemented.

#include <strata/plugin/differ.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace strata::diffservice {

/// One differ in the service's order.
struct Candidate {
  std::string id;                 ///< the differ's id, e.g. "walking"
  std::shared_ptr<Differ> differ; ///< never null
  /// Its Meta lists capability::apply_unknown_lowers: it may be handed
  /// ApplyTarget::UpperdirUnknownLowers.
  bool apply_unknown_lowers = false;
};

/// Calls `call` on each candidate in order and returns the first result that is not a
/// NotImplemented error; `operation` ("apply", "compare") names the call in messages.
/// Errors: FailedPrecondition when `order` is empty; the first error that is not NotImplemented,
/// with its code kept and its message prefixed with "differ <id>: " (later differs are not
/// called); Internal "differ <id> threw ..." when a differ throws (also final); NotImplemented
/// when every differ returned it, naming each differ with its reason in order.
Result<Descriptor>
first_implemented(const std::vector<Candidate>& order, std::string_view operation,
                  const std::function<Result<Descriptor>(const Candidate&)>& call);

/// first_implemented() over Applier::apply. A candidate without apply_unknown_lowers is not
/// called for ApplyTarget::UpperdirUnknownLowers and counts as NotImplemented (a differ that
/// knows nothing of targets would write the upperdir as a plain directory and lose whiteouts).
/// Errors: as first_implemented().
Result<Descriptor> apply_in_order(const std::vector<Candidate>& order, const Descriptor& desc,
                                  const std::vector<Mount>& mounts, const ApplyOptions& opts);

/// first_implemented() over Comparer::compare. Errors: as first_implemented().
Result<Descriptor> compare_in_order(const std::vector<Candidate>& order,
                                    const std::vector<Mount>& lower,
                                    const std::vector<Mount>& upper, const CompareOptions& opts);

} // namespace strata::diffservice
