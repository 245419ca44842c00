#pragma once
/// \file
/// Walk filters in containerd's syntax, evaluated against snapshot Info.
///
/// A filter string is one or more selectors joined by ',' (all must match); a list of filter
/// strings matches when any of them does; an empty list or an empty string matches everything.
/// A selector is `field`, `field==value`, `field!=value` or `field~=regex`:
/// - fields: `kind` (active, view, committed), `name`, `parent` (always present, "" when none),
///   `labels.<key>`; a dotted key may be written plainly (labels.a.b) or quoted
///   (labels."containerd.io/gc.root"); any other field is never present;
/// - a bare field matches when present; `==` needs presence and equality; `!=` matches when the
///   value differs (also when absent); `~=` is an ECMAScript regex searched in the value;
/// - values stop at ',' or white space unless quoted: "a,b" (escapes \" \\ \n \t), or for regexes
///   /.../ or |...| (only the delimiter is escaped); "" is the empty value.

#include <strata/plugin/error.hpp>
#include <strata/plugin/snapshot.hpp>

#include <memory>
#include <string>
#include <vector>

namespace strata::metastore {

/// A parsed list of filters (OR of AND-ed selectors). Copies share the parsed form.
class Filters {
public:
  /// Parses `filters`. Errors: InvalidArgument naming the filter, the byte position (from 0)
  /// and what was expected there, or the regex error.
  static Result<Filters> parse(const std::vector<std::string>& filters);

  /// True when there are no filters or any filter matches `info`.
  bool matches(const Info& info) const;

  struct Impl;

private:
  explicit Filters(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

} // namespace strata::metastore
