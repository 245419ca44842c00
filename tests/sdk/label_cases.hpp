#pragma once
// The label-update table shared by the SDK test (strata::update_labels itself) and by the
// metastore and content store tests (through their update methods): one semantics, checked at
// every place that stores labels.

#include <strata/plugin/snapshot.hpp>

#include <optional>
#include <string>
#include <vector>

namespace strata::test {

struct LabelCase {
  const char* name;
  Labels current;                 ///< the labels stored before the update (no empty values)
  Labels requested;               ///< Info::labels / ContentInfo::labels of the update
  std::vector<std::string> paths; ///< the field paths
  std::optional<Labels> want;     ///< the labels after; nullopt: InvalidArgument, nothing changes
  std::string bad_path = {};      ///< with want == nullopt: the path the error must name
};

inline const std::vector<LabelCase>& label_cases() {
  static const std::vector<LabelCase> cases = {
      {"no paths replace the map and drop empty values",
       {{"a", "1"}, {"b", "2"}},
       {{"c", "3"}, {"e", ""}},
       {},
       Labels{{"c", "3"}}},
      {"\"labels\" replaces the map",
       {{"a", "1"}},
       {{"x", "1"}, {"y", ""}},
       {"labels"},
       Labels{{"x", "1"}}},
      {"\"labels\" with nothing requested clears", {{"a", "1"}}, {}, {"labels"}, Labels{}},
      {"labels.<k> adds k",
       {{"a", "1"}},
       {{"b", "2"}},
       {"labels.b"},
       Labels{{"a", "1"}, {"b", "2"}}},
      {"labels.<k> changes k",
       {{"a", "1"}, {"b", "2"}},
       {{"a", "10"}},
       {"labels.a"},
       Labels{{"a", "10"}, {"b", "2"}}},
      {"labels.<k> absent from the request deletes k",
       {{"a", "1"}, {"b", "2"}},
       {},
       {"labels.a"},
       Labels{{"b", "2"}}},
      {"labels.<k> with an empty value deletes k",
       {{"a", "1"}, {"b", "2"}},
       {{"a", ""}},
       {"labels.a"},
       Labels{{"b", "2"}}},
      {"deleting an absent key is fine", {{"a", "1"}}, {}, {"labels.zz"}, Labels{{"a", "1"}}},
      {"requested keys not named by a path are ignored",
       {{"a", "1"}},
       {{"a", "2"}, {"b", "3"}},
       {"labels.a"},
       Labels{{"a", "2"}}},
      {"several keys at once",
       {{"keep", "1"}, {"drop", "2"}, {"change", "3"}},
       {{"change", "30"}, {"added", "4"}, {"drop", ""}, {"ignored", "5"}},
       {"labels.change", "labels.added", "labels.drop", "labels.missing"},
       Labels{{"keep", "1"}, {"change", "30"}, {"added", "4"}}},
      {"a dotted key is one key",
       {},
       {{"containerd.io/gc.root", "now"}},
       {"labels.containerd.io/gc.root"},
       Labels{{"containerd.io/gc.root", "now"}}},
      {"\"labels\" before labels.<k>",
       {{"a", "1"}, {"b", "2"}},
       {{"c", "3"}},
       {"labels", "labels.b"},
       Labels{{"c", "3"}}},
      {"\"labels\" after labels.<k>",
       {{"a", "1"}, {"b", "2"}},
       {{"c", "3"}},
       {"labels.b", "labels"},
       Labels{{"c", "3"}}},
      {"another field", {{"a", "1"}}, {{"a", "2"}}, {"labels.a", "parent"}, std::nullopt, "parent"},
      {"an empty key",
       {{"a", "1"}},
       {{"a", "2"}},
       {"labels.a", "labels."},
       std::nullopt,
       "labels."},
      {"a prefix without the dot", {{"a", "1"}}, {}, {"labelsx"}, std::nullopt, "labelsx"},
      {"the singular", {{"a", "1"}}, {}, {"label.a"}, std::nullopt, "label.a"},
      {"case matters", {{"a", "1"}}, {}, {"Labels"}, std::nullopt, "Labels"},
      {"an empty path", {{"a", "1"}}, {}, {""}, std::nullopt, ""},
  };
  return cases;
}

} // namespace strata::test
