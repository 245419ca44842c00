#include "filters.hpp"

#include <strata/digest/sha256.hpp>

#include <algorithm>
#include <string_view>

namespace strata::content {

namespace {

Error bad_filter(const std::string& f, std::string_view why) {
  return invalid_argument("content: unsupported filter \"" + f + "\" (" + std::string(why) +
                          "); use digest==<digest>, labels.<key>==<value> or labels.<key>");
}

Result<Filter> parse_one(const std::string& f) {
  constexpr std::string_view digest_prefix = "digest==";
  constexpr std::string_view labels_prefix = "labels.";
  std::string_view s = f;
  if (s.starts_with(digest_prefix)) {
    std::string d(s.substr(digest_prefix.size()));
    if (auto st = digest::validate(d); !st)
      return bad_filter(f, st.error().message());
    return Filter{Filter::Kind::Digest, "", std::move(d)};
  }
  if (!s.starts_with(labels_prefix))
    return bad_filter(f, "only digest and labels can be filtered on");
  s.remove_prefix(labels_prefix.size());
  Filter out;
  if (auto eq = s.find("=="); eq != std::string_view::npos) {
    out.kind = Filter::Kind::LabelEquals;
    out.key = std::string(s.substr(0, eq));
    out.value = std::string(s.substr(eq + 2));
  } else {
    out.kind = Filter::Kind::LabelExists;
    out.key = std::string(s);
  }
  if (out.key.empty())
    return bad_filter(f, "empty label key");
  if (out.key.find_first_of("=!~") != std::string::npos)
    return bad_filter(f, "only == is supported");
  return out;
}

bool matches(const Filter& f, const ContentInfo& info) {
  switch (f.kind) {
  case Filter::Kind::Digest:
    return info.digest == f.value;
  case Filter::Kind::LabelEquals: {
    auto it = info.labels.find(f.key);
    return it != info.labels.end() && it->second == f.value;
  }
  case Filter::Kind::LabelExists:
    return info.labels.contains(f.key);
  }
  return false;
}

} // namespace

Result<std::vector<Filter>> parse_filters(const std::vector<std::string>& filters) {
  std::vector<Filter> out;
  for (const auto& f : filters) {
    auto parsed = parse_one(f);
    if (!parsed)
      return std::move(parsed).error();
    out.push_back(std::move(*parsed));
  }
  return out;
}

bool matches_any(const std::vector<Filter>& filters, const ContentInfo& info) {
  return filters.empty() || std::any_of(filters.begin(), filters.end(),
                                        [&](const Filter& f) { return matches(f, info); });
}

} // namespace strata::content
