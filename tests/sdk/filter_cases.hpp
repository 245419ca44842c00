#pragma once
// The walk-filter table shared by the SDK test (strata::Filters itself) and by every walk that
// filters: the metastore, the content store, the images service and, through the conformance
// suite, every snapshotter (overlay, hello). One syntax and one set of answers, checked at every
// place that filters. The rows use only labels, which every filtered object has; each user's own
// tests cover its other fields (kind, name, parent, digest).

#include <strata/plugin/snapshot.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace strata::test {

/// The objects every user creates before it walks: their names (a snapshot key, an image name;
/// the content store maps blob digests to them) and labels.
struct FilterObject {
  const char* name;
  Labels labels;
};

inline const std::vector<FilterObject>& filter_objects() {
  static const std::vector<FilterObject> objects = {
      {"a", {{"team", "blue"}, {"containerd.io/gc.root", "x"}, {"x.y", "z,w"}, {"n", "1"}}},
      {"b", {{"team", "red"}, {"n", "22"}, {"q", "say \"hi\""}}},
      {"c", {}},
  };
  return objects;
}

struct FilterCase {
  const char* name;
  std::vector<std::string> filters;
  /// The names visited, in byte order; nullopt: InvalidArgument naming the bad filter, and the
  /// walk calls nothing.
  std::optional<std::vector<std::string>> want;
  std::string bad_filter = {}; ///< with want == nullopt: the filter the error must name
};

inline const std::vector<FilterCase>& filter_cases() {
  using V = std::vector<std::string>;
  static const std::vector<FilterCase> cases = {
      {"no filters match everything", {}, V{"a", "b", "c"}},
      {"an empty filter matches everything", {""}, V{"a", "b", "c"}},
      {"an empty filter among others still does", {"labels.team==blue", ""}, V{"a", "b", "c"}},
      {"a bare label tests presence", {"labels.team"}, V{"a", "b"}},
      {"== needs presence and equality", {"labels.team==red"}, V{"b"}},
      {"!= also matches an absent label", {"labels.team!=red"}, V{"a", "c"}},
      {"~= searches a regex", {"labels.team~=^b"}, V{"a"}},
      {"~= reads an absent label as empty", {"labels.missing~=^$"}, V{"a", "b", "c"}},
      {"/.../ delimits a regex", {"labels.n~=/^[0-9]{2}$/"}, V{"b"}},
      {"|...| delimits a regex", {"labels.n~=|^1$|"}, V{"a"}},
      {"a quoted dotted key", {"labels.\"containerd.io/gc.root\""}, V{"a"}},
      {"a plain dotted key joins", {"labels.containerd.io/gc.root==x"}, V{"a"}},
      {"a quoted value keeps its comma", {"labels.x.y==\"z,w\""}, V{"a"}},
      {"escapes in a quoted value", {"labels.q==\"say \\\"hi\\\"\""}, V{"b"}},
      {"\"\" is the empty value", {"labels.team==\"\""}, V{}},
      {"comma ANDs", {"labels.team,labels.n==1"}, V{"a"}},
      {"several filters OR", {"labels.team==red", "labels.n==1"}, V{"a", "b"}},
      {"white space around tokens", {" labels.team == red , labels.n "}, V{"b"}},
      {"nothing matches", {"labels.team==green"}, V{}},
      {"a single '='", {"labels.team=red"}, std::nullopt, "labels.team=red"},
      {"an unknown operator", {"labels.team=~red"}, std::nullopt, "labels.team=~red"},
      {"no value", {"labels.team=="}, std::nullopt, "labels.team=="},
      {"labels without a key", {"labels"}, std::nullopt, "labels"},
      {"an empty key", {"labels."}, std::nullopt, "labels."},
      {"a misspelt field", {"lables.team"}, std::nullopt, "lables.team"},
      {"an unknown field", {"bogus==x"}, std::nullopt, "bogus==x"},
      {"a bad regex", {"labels.team~=["}, std::nullopt, "labels.team~=["},
      {"a back-reference", {"labels.team~=(a)\\1"}, std::nullopt, "labels.team~=(a)\\1"},
      {"a space inside a value", {"labels.team==a b"}, std::nullopt, "labels.team==a b"},
      {"an unterminated quote", {"labels.team==\"red"}, std::nullopt, "labels.team==\"red"},
      {"a trailing comma", {"labels.team,"}, std::nullopt, "labels.team,"},
      {"one bad filter fails them all",
       {"labels.team==red", "labels.team=red"},
       std::nullopt,
       "labels.team=red"},
  };
  return cases;
}

/// Runs every case through `walk(filters, visited)`, which walks the objects of filter_objects()
/// with `filters`, appends the name of each object visited to `visited` and returns the walk's
/// Status, and checks the names (in any order) or the error.
template <class Walk> void check_filter_table(const Walk& walk) {
  for (const auto& c : filter_cases()) {
    SCOPED_TRACE(c.name);
    std::vector<std::string> got;
    Status st = walk(c.filters, got);
    if (!c.want) {
      ASSERT_FALSE(st.ok()) << "a bad filter must be refused";
      EXPECT_EQ(st.error().code(), Code::InvalidArgument) << st.error().to_string();
      EXPECT_NE(st.error().message().find(c.bad_filter), std::string::npos)
          << "the error names the bad filter: " << st.error().to_string();
      EXPECT_TRUE(got.empty()) << "a bad filter is refused before anything is visited";
      continue;
    }
    ASSERT_TRUE(st.ok()) << st.error().to_string();
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, *c.want);
  }
}

} // namespace strata::test
