// Walk filters: each operator and field, AND/OR, quoting, bad filters; walk order and callbacks.

#include "support.hpp"

#include <strata/metastore/filter.hpp>

namespace strata::metastore::test {
namespace {

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
  auto f = Filters::parse(filters);
  EXPECT_TRUE(f.ok()) << f.error().to_string();
  return f.ok() && f->matches(info);
}

TEST(Filters, NoFiltersOrEmptyFilterMatchEverything) {
  EXPECT_TRUE(match({}, kActive));
  EXPECT_TRUE(match({""}, kBase));
  EXPECT_TRUE(match({"kind==view", ""}, kBase));
}

TEST(Filters, Kind) {
  EXPECT_TRUE(match({"kind==active"}, kActive));
  EXPECT_FALSE(match({"kind==active"}, kView));
  EXPECT_TRUE(match({"kind==view"}, kView));
  EXPECT_TRUE(match({"kind==committed"}, kBase));
  EXPECT_TRUE(match({"kind!=committed"}, kActive));
  EXPECT_FALSE(match({"kind!=committed"}, kBase));
  EXPECT_TRUE(match({"kind"}, kBase));
}

TEST(Filters, NameAndParent) {
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

TEST(Filters, Regex) {
  EXPECT_TRUE(match({"name~=^work/"}, kActive));
  EXPECT_TRUE(match({"name~=1"}, kActive)) << "search, not full match";
  EXPECT_FALSE(match({"name~=^1"}, kActive));
  EXPECT_TRUE(match({"name~=/^work\\/1 x$/"}, kActive)) << "/.../ delimits, \\/ escapes";
  EXPECT_TRUE(match({"name~=|^view-[0-9]+$|"}, kView));
  EXPECT_TRUE(match({"name~=\"^work/1\\s\""}, kActive)) << "\\s kept inside \"...\"";
  EXPECT_TRUE(match({"labels.a~=^[12]$"}, kView));
  EXPECT_TRUE(match({"labels.missing~=^$"}, kView)) << "absent reads as empty";
}

TEST(Filters, Labels) {
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
  EXPECT_FALSE(match({"labels"}, kActive));
  EXPECT_FALSE(match({"unknown"}, kActive));
  EXPECT_FALSE(match({"name.sub==x"}, kActive));
}

TEST(Filters, CommaIsAndListIsOr) {
  EXPECT_TRUE(match({"kind==active,labels.a==1"}, kActive));
  EXPECT_FALSE(match({"kind==active,labels.a==2"}, kActive));
  EXPECT_FALSE(match({"kind==active,labels.a==2"}, kView));
  EXPECT_TRUE(match({"kind==committed", "labels.a==2"}, kView));
  EXPECT_TRUE(match({"kind==committed", "labels.a==2"}, kBase));
  EXPECT_FALSE(match({"kind==committed", "labels.a==2"}, kActive));
  EXPECT_TRUE(match({" kind == active , parent == base "}, kActive)) << "spaces around tokens";
}

TEST(Filters, QuotedValues) {
  Info odd = make(Kind::Active, "a,b", "", {{"q", "say \"hi\"\\"}});
  EXPECT_TRUE(match({"name==\"a,b\""}, odd));
  EXPECT_FALSE(match({"name==a"}, odd));
  EXPECT_TRUE(match({"labels.q==\"say \\\"hi\\\"\\\\\""}, odd));
  EXPECT_TRUE(match({"name==\"a,b\",kind==active"}, odd));
}

TEST(Filters, RegexOnLongValuesDoesNotExhaustTheStack) {
  Info big = make(Kind::Active, std::string(200000, 'a') + "b", "", {});
  EXPECT_TRUE(match({"name~=^(a|c)*b$"}, big));
  EXPECT_FALSE(match({"name~=^(a|c)*$"}, big));
}

void expect_bad(const std::string& filter, std::size_t position) {
  auto f = Filters::parse({"kind==active", filter});
  ASSERT_FALSE(f.ok()) << filter << " parsed";
  EXPECT_EQ(f.error().code(), Code::InvalidArgument);
  const std::string& m = f.error().message();
  EXPECT_NE(m.find(filter), std::string::npos) << m;
  EXPECT_NE(m.find("position " + std::to_string(position)), std::string::npos) << m;
}

TEST(Filters, MalformedFiltersNameTheFilterAndPosition) {
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
  expect_bad("k ind", 2);
  expect_bad("==x", 0);
  expect_bad("labels.", 7);
  expect_bad("labels.\"x", 7);
  expect_bad("name~=[", 6);
  expect_bad("name~=(a", 6);
  expect_bad("labels.a$b", 8);
  expect_bad("name~=" + std::string(2000, '('), 6); // too long for the regex compiler
  expect_bad("name~=(a)\\1", 6);                    // back-references are not supported
}

// --- walk ------------------------------------------------------------------------------------

TEST_F(StoreTest, WalkVisitsInByteOrderOfName) {
  for (const char* key : {"b", "a/b", "a b", "B", "a", "\xc3\xa9", "a0"})
    ASSERT_OK(create(Kind::Active, key));
  std::vector<std::string> names;
  ASSERT_OK(tx(false).walk([&](const Info& i) -> Status {
    names.push_back(i.name);
    return {};
  }));
  EXPECT_EQ(names, (std::vector<std::string>{"B", "a", "a b", "a/b", "a0", "b", "\xc3\xa9"}));
}

TEST_F(StoreTest, WalkFiltersAndReportsInfo) {
  layer("base", "", {{"containerd.io/gc.root", "x"}});
  ASSERT_OK(create(Kind::Active, "a", "base", {{"team", "blue"}}));
  ASSERT_OK(create(Kind::View, "v", "base", {{"team", "red"}}));
  ASSERT_OK(create(Kind::Active, "solo", "", {{"team", "red"}}));
  auto names = [&](const std::vector<std::string>& filters) {
    std::vector<std::string> out;
    auto st = tx(false).walk(
        [&](const Info& i) -> Status {
          out.push_back(i.name);
          return {};
        },
        filters);
    EXPECT_TRUE(st.ok()) << st.error().to_string();
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({"kind==active"}), (V{"a", "solo"}));
  EXPECT_EQ(names({"parent!=\"\""}), (V{"a", "v"}));
  EXPECT_EQ(names({"labels.team==red,parent==base"}), (V{"v"}));
  EXPECT_EQ(names({"labels.team==blue", "kind==committed"}), (V{"a", "base"}));
  EXPECT_EQ(names({"labels.\"containerd.io/gc.root\""}), (V{"base"}));
  EXPECT_EQ(names({"name~=^(a|v)$"}), (V{"a", "v"}));

  // The Info a walk reports equals what get_info reports, also from inside the callback.
  auto t = tx(false);
  int seen = 0;
  ASSERT_OK(t.walk([&](const Info& i) -> Status {
    auto rec = t.get_info(i.name);
    if (!rec.ok())
      return std::move(rec).error();
    EXPECT_EQ(rec->info, i);
    ++seen;
    return {};
  }));
  EXPECT_EQ(seen, 4);
}

TEST_F(StoreTest, WalkStopsAtCallbackErrorAndRejectsBadFilters) {
  for (const char* key : {"a", "b", "c"})
    ASSERT_OK(create(Kind::Active, key));
  int calls = 0;
  auto st = tx(false).walk([&](const Info& i) -> Status {
    ++calls;
    if (i.name == "b")
      return not_found("stop here");
    return {};
  });
  EXPECT_CODE(st, Code::NotFound);
  EXPECT_EQ(st.error().message(), "stop here");
  EXPECT_EQ(calls, 2);

  calls = 0;
  auto bad = tx(false).walk(
      [&](const Info&) -> Status {
        ++calls;
        return {};
      },
      {"kind==active", "kind=active"});
  EXPECT_CODE(bad, Code::InvalidArgument);
  EXPECT_EQ(calls, 0);
}

} // namespace
} // namespace strata::metastore::test
