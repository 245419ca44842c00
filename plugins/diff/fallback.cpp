#include "fallback.hpp"

#include <strata/plugin/guard.hpp>
#include <strata/plugin/meta.hpp>

#include <exception>

namespace strata::diffservice {

namespace {

// A reason that reads well inside a list even when a differ gave none.
std::string reason_of(const Error& e) {
  return e.message().empty() ? "(no reason given)" : e.message();
}

} // namespace

Result<Descriptor>
first_implemented(const std::vector<Candidate>& order, std::string_view operation,
                  const std::function<Result<Descriptor>(const Candidate&)>& call) {
  return guard(
      [&] { return "diff service " + std::string(operation); },
      [&]() -> Result<Descriptor> {
        if (order.empty())
          return failed_precondition(std::string("no differ to ") + std::string(operation) +
                                     " with: the diff service's order is empty; list differ ids in "
                                     "default of [plugins.\"strata.service.v1.diff\"]");
        std::string tried;
        for (const auto& c : order) {
          Result<Descriptor> r = internal_error("not called");
          // Differs must not throw, but one that does must not take the service (and the host
          // thread serving the request) with it.
          try {
            r = call(c);
          } catch (const std::exception& e) {
            return internal_error("differ " + c.id + " threw an exception during " +
                                  std::string(operation) + ": " + e.what());
          } catch (...) {
            return internal_error("differ " + c.id + " threw a non-standard exception during " +
                                  std::string(operation));
          }
          if (r)
            return r;
          // Only NotImplemented means "not mine, nothing changed"; any other error may have left
          // work behind or says the input is bad, so trying another differ would hide it.
          if (r.error().code() != Code::NotImplemented)
            return r.error().wrap("differ " + c.id);
          tried += (tried.empty() ? "" : "; ") + c.id + ": " + reason_of(r.error());
        }
        return not_implemented("no differ can " + std::string(operation) +
                               " this; tried in order: " + tried);
      });
}

Result<Descriptor> apply_in_order(const std::vector<Candidate>& order, const Descriptor& desc,
                                  const std::vector<Mount>& mounts, const ApplyOptions& opts) {
  // Building the std::function may allocate.
  return guard("diff service apply", [&] {
    return first_implemented(order, "apply", [&](const Candidate& c) -> Result<Descriptor> {
      if (opts.target == ApplyTarget::UpperdirUnknownLowers && !c.apply_unknown_lowers)
        return not_implemented(
            "it does not list capability " + std::string(capability::apply_unknown_lowers) +
            ", so it is not handed target " + std::string(to_string(opts.target)));
      return c.differ->apply(desc, mounts, opts);
    });
  });
}

Result<Descriptor> compare_in_order(const std::vector<Candidate>& order,
                                    const std::vector<Mount>& lower,
                                    const std::vector<Mount>& upper, const CompareOptions& opts) {
  return guard("diff service compare", [&] {
    return first_implemented(order, "compare", [&](const Candidate& c) {
      return c.differ->compare(lower, upper, opts);
    });
  });
}

} // namespace strata::diffservice
