#pragma once
// Walk filters of the content store. Supported forms (a blob is visited when it matches any):
//   digest==sha256:<hex>    that blob
//   labels.<key>==<value>   the label is set to exactly that value
//   labels.<key>            the label is set
// Keys may contain dots (e.g. "containerd.io/gc.ref.content"); they may not contain '=', '!' or
// '~', so that unsupported operators such as "!=" or "~=" are refused instead of read as keys.

#include <strata/plugin/content.hpp>

#include <string>
#include <vector>

namespace strata::content {

/// One parsed filter.
struct Filter {
  enum class Kind { Digest, LabelEquals, LabelExists };
  Kind kind = Kind::Digest;
  std::string key;   ///< label key (label filters)
  std::string value; ///< digest or label value
};

/// Parses every filter. Errors: InvalidArgument naming the first bad filter and the forms allowed.
Result<std::vector<Filter>> parse_filters(const std::vector<std::string>& filters);

/// True when `filters` is empty or any of them matches `info`.
bool matches_any(const std::vector<Filter>& filters, const ContentInfo& info);

} // namespace strata::content
