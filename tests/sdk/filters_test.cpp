// strata::Filters: the shared filter table (filter_cases.hpp) on labels alone, then the snapshot,
// content and image fields with each operator, AND/OR, quoting and bad filters.
#include "filter_cases.hpp"

#include <strata/plugin/filters.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <thread>

namespace strata::test {
namespace {

TEST(Filters, Table) {
  check_filter_table([](const std::vector<std::string>& filters, std::vector<std::string>& got) {
    auto f = Filters::parse(filters, {"labels"});
    if (!f)
      return Status(std::move(f).error());
    EXPECT_EQ(f->match_everything(),
              filters.empty() || std::count(filters.begin(), filters.end(), std::string()) > 0);
    for (const auto& o : filter_objects())
      if (f->matches(o.labels, [](std::string_view) { return std::nullopt; }))
        got.push_back(o.name);
    return Status();
  });
}

TEST(Filters, DefaultMatchesEverything) {
  Filters f;
  EXPECT_TRUE(f.match_everything());
  EXPECT_TRUE(f.matches({}, [](std::string_view) { return std::nullopt; }));
}

TEST(Filters, GetterAsksOnlyForParsedFieldsAndAThrowReadsAsAbsent) {
  auto f = Filters::parse({"target.digest==d,labels.k"}, {"target.digest", "labels"});
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  std::vector<std::string> asked;
  EXPECT_TRUE(f->matches({{"k", "v"}}, [&](std::string_view field) -> std::optional<std::string> {
    asked.emplace_back(field);
    return "d";
  }));
  EXPECT_EQ(asked, std::vector<std::string>{"target.digest"});
  EXPECT_FALSE(f->matches({{"k", "v"}}, [](std::string_view) -> std::optional<std::string> {
    throw std::runtime_error("getter bug");
  }));
  auto no_labels = Filters::parse({"labels.k"}, {"target.digest"});
  ASSERT_FALSE(no_labels.ok());
  EXPECT_NE(no_labels.error().message().find("the fields are target.digest"), std::string::npos)
      << no_labels.error().message();
}

TEST(Filters, SharedAcrossThreads) {
  auto f = parse_snapshot_filters({"name~=^w,labels.a==1"});
  ASSERT_TRUE(f.ok());
  Info i;
  i.name = "work";
  i.labels = {{"a", "1"}};
  std::vector<std::thread> threads;
  std::atomic<int> hits = 0;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, copy = *f] {
      for (int n = 0; n < 200; ++n)
        hits += matches(copy, i) ? 1 : 0;
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(hits, 800);
}

TEST(ContentFilters, DigestAndLabels) {
  ContentInfo i;
  i.digest = "sha256:" + std::string(64, 'a');
  i.labels = {{"kind", "layer"}};
  auto match = [&](std::vector<std::string> filters) {
    auto f = parse_content_filters(filters);
    EXPECT_TRUE(f.ok()) << f.error().to_string();
    return f.ok() && matches(*f, i);
  };
  EXPECT_TRUE(match({"digest==" + i.digest}));
  EXPECT_FALSE(match({"digest==sha256:short"}));
  EXPECT_TRUE(match({"digest~=^sha256:a+$,labels.kind==layer"}));
  EXPECT_TRUE(match({"labels.kind!=config"}));
  for (std::string bad : {"name==x", "size==10", "kind==active", "mediatype==x"}) {
    auto f = parse_content_filters({bad});
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code(), Code::InvalidArgument);
  }
}

TEST(ImageFilters, NameAndLabels) {
  Image i;
  i.name = "docker.io/library/alpine:3.19";
  i.labels = {{"team", "x"}};
  auto match = [&](std::vector<std::string> filters) {
    auto f = parse_image_filters(filters);
    EXPECT_TRUE(f.ok()) << f.error().to_string();
    return f.ok() && matches(*f, i);
  };
  EXPECT_TRUE(match({"name==\"docker.io/library/alpine:3.19\""}));
  EXPECT_TRUE(match({"name==docker.io/library/alpine:3.19"}));
  EXPECT_TRUE(match({"name~=alpine,labels.team"}));
  EXPECT_FALSE(match({"name!=docker.io/library/alpine:3.19"}));
  for (std::string bad : {"digest==x", "kind==active", "bogus"}) {
    auto f = parse_image_filters({bad});
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code(), Code::InvalidArgument);
  }
}

Info make(Kind kind, std::string name, std::string parent, Labels labels) {
  Info i;
  i.kind = kind;
  i.name = std::move(name);
  i.parent = std::move(parent);
  i.labels = std::move(labels);
  return i;
}

const Info kActive = make(Kind::Active, "work/1 x", "base",
                          {{"a", "1"}, {"containerd.io/gc.root", "yes"}, {"x.y", "z,w"}});
const Info kView = make(Kind::View, "view-1", "", {{"a", "2"}});
const Info kBase = make(Kind::Committed, "base", "", {});

bool match(const std::vector<std::string>& filters, const Info& info) {
  auto f = parse_snapshot_filters(filters);
  EXPECT_TRUE(f.ok()) << f.error().to_string();
  return f.ok() && matches(*f, info);
}

TEST(SnapshotFilters, NoFiltersOrEmptyFilterMatchEverything) {
  EXPECT_TRUE(match({}, kActive));
  EXPECT_TRUE(match({""}, kBase));
  EXPECT_TRUE(match({"kind==view", ""}, kBase));
}

TEST(SnapshotFilters, Kind) {
  EXPECT_TRUE(match({"kind==active"}, kActive));
  EXPECT_FALSE(match({"kind==active"}, kView));
  EXPECT_TRUE(match({"kind==view"}, kView));
  EXPECT_TRUE(match({"kind==committed"}, kBase));
  EXPECT_TRUE(match({"kind!=committed"}, kActive));
  EXPECT_FALSE(match({"kind!=committed"}, kBase));
  EXPECT_TRUE(match({"kind"}, kBase));
}

TEST(SnapshotFilters, NameAndParent) {
  EXPECT_TRUE(match({"name==base"}, kBase));
  EXPECT_TRUE(match({"name==\"work/1 x\""}, kActive));
  EXPECT_FALSE(match({"name==work"}, kActive));
  EXPECT_TRUE(match({"name!=work"}, kActive));
  EXPECT_TRUE(match({"parent==base"}, kActive));
  EXPECT_FALSE(match({"parent==base"}, kView));
  // parent is always present, so parent!="" selects snapshots with a parent.
  EXPECT_TRUE(match({"parent"}, kView));
  EXPECT_TRUE(match({"parent!=\"\""}, kActive));
  EXPECT_FALSE(match({"parent!=\"\""}, kView));
  EXPECT_TRUE(match({"parent==\"\""}, kBase));
}

TEST(SnapshotFilters, Regex) {
  EXPECT_TRUE(match({"name~=^work/"}, kActive));
  EXPECT_TRUE(match({"name~=1"}, kActive)) << "search, not full match";
  EXPECT_FALSE(match({"name~=^1"}, kActive));
  EXPECT_TRUE(match({"name~=/^work\\/1 x$/"}, kActive)) << "/.../ delimits, \\/ escapes";
  EXPECT_TRUE(match({"name~=|^view-[0-9]+$|"}, kView));
  EXPECT_TRUE(match({"name~=\"^work/1\\s\""}, kActive)) << "\\s kept inside \"...\"";
  EXPECT_TRUE(match({"labels.a~=^[12]$"}, kView));
  EXPECT_TRUE(match({"labels.missing~=^$"}, kView)) << "absent reads as empty";
}

TEST(SnapshotFilters, Labels) {
  EXPECT_TRUE(match({"labels.a"}, kActive));
  EXPECT_FALSE(match({"labels.a"}, kBase));
  EXPECT_TRUE(match({"labels.a==1"}, kActive));
  EXPECT_FALSE(match({"labels.a==1"}, kView));
  EXPECT_TRUE(match({"labels.a!=1"}, kView));
  EXPECT_TRUE(match({"labels.a!=1"}, kBase)) << "!= matches an absent label";
  EXPECT_FALSE(match({"labels.a==\"\""}, kBase)) << "== needs presence";
  EXPECT_TRUE(match({"labels.\"containerd.io/gc.root\"==yes"}, kActive));
  EXPECT_TRUE(match({"labels.\"containerd.io/gc.root\""}, kActive));
  EXPECT_TRUE(match({"labels.containerd.io/gc.root==yes"}, kActive)) << "dotted path joins";
  EXPECT_TRUE(match({"labels.x.y==\"z,w\""}, kActive));
}

TEST(SnapshotFilters, CommaIsAndListIsOr) {
  EXPECT_TRUE(match({"kind==active,labels.a==1"}, kActive));
  EXPECT_FALSE(match({"kind==active,labels.a==2"}, kActive));
  EXPECT_FALSE(match({"kind==active,labels.a==2"}, kView));
  EXPECT_TRUE(match({"kind==committed", "labels.a==2"}, kView));
  EXPECT_TRUE(match({"kind==committed", "labels.a==2"}, kBase));
  EXPECT_FALSE(match({"kind==committed", "labels.a==2"}, kActive));
  EXPECT_TRUE(match({" kind == active , parent == base "}, kActive)) << "spaces around tokens";
}

TEST(SnapshotFilters, QuotedValues) {
  Info odd = make(Kind::Active, "a,b", "", {{"q", "say \"hi\"\\"}});
  EXPECT_TRUE(match({"name==\"a,b\""}, odd));
  EXPECT_FALSE(match({"name==a"}, odd));
  EXPECT_TRUE(match({"labels.q==\"say \\\"hi\\\"\\\\\""}, odd));
  EXPECT_TRUE(match({"name==\"a,b\",kind==active"}, odd));
}

TEST(SnapshotFilters, RegexOnLongValuesDoesNotExhaustTheStack) {
  Info big = make(Kind::Active, std::string(200000, 'a') + "b", "", {});
  EXPECT_TRUE(match({"name~=^(a|c)*b$"}, big));
  EXPECT_FALSE(match({"name~=^(a|c)*$"}, big));
}

void expect_bad(const std::string& filter, std::size_t position) {
  auto f = parse_snapshot_filters({"kind==active", filter});
  ASSERT_FALSE(f.ok()) << filter << " parsed";
  EXPECT_EQ(f.error().code(), Code::InvalidArgument);
  const std::string& m = f.error().message();
  EXPECT_NE(m.find(filter), std::string::npos) << m;
  EXPECT_NE(m.find("position " + std::to_string(position)), std::string::npos) << m;
}

TEST(SnapshotFilters, MalformedFiltersNameTheFilterAndPosition) {
  expect_bad("kind=active", 4);
  expect_bad("kind=!active", 4);
  expect_bad("kind!", 4);
  expect_bad("kind==", 6);
  expect_bad("kind==,name", 6);
  expect_bad("name==\"abc", 6);
  expect_bad("name~=/abc", 6);
  expect_bad(",kind", 0);
  expect_bad("kind==a,", 8);
  expect_bad("kind==a b", 8);
  expect_bad("k ind", 0); // "k" is no field
  expect_bad("==x", 0);
  expect_bad("labels.", 7);
  expect_bad("labels.\"x", 7);
  expect_bad("name~=[", 6);
  expect_bad("name~=(a", 6);
  expect_bad("labels.a$b", 8);
  expect_bad("name~=" + std::string(2000, '('), 6); // too long for the regex compiler
  expect_bad("name~=(a)\\1", 6);                    // back-references are not supported
  // A field the object does not have is reported, not silently never matched.
  expect_bad("labels", 0);
  expect_bad("unknown", 0);
  expect_bad(" name.sub==x", 1);
  expect_bad("digest==x", 0);
}

} // namespace
} // namespace strata::test
