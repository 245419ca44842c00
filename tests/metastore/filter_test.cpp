// Walks of the metastore: byte order, filters (the SDK's, through the shared filter table and
// with the snapshot fields), callbacks.

#include "filter_cases.hpp"
#include "support.hpp"

namespace strata::metastore::test {
namespace {

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

// The shared filter table (tests/sdk/filter_cases.hpp) through Transaction::walk.
TEST_F(StoreTest, WalkFilterTable) {
  for (const auto& o : strata::test::filter_objects())
    ASSERT_OK(create(Kind::Active, o.name, "", o.labels));
  strata::test::check_filter_table(
      [&](const std::vector<std::string>& filters, std::vector<std::string>& got) {
        return tx(false).walk(
            [&](const Info& i) -> Status {
              got.push_back(i.name);
              return {};
            },
            filters);
      });
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
