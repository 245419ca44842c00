// The shared label-update table (tests/sdk/label_cases.hpp) through Transaction::update_info.
#include "label_cases.hpp"
#include "support.hpp"

namespace strata::metastore::test {
namespace {

TEST_F(StoreTest, LabelUpdateTable) {
  int n = 0;
  for (const auto& c : strata::test::label_cases()) {
    SCOPED_TRACE(c.name);
    const std::string key = "s" + std::to_string(n++);
    ASSERT_OK(create(Kind::Active, key, "", c.current));
    Info in;
    in.name = key;
    in.labels = c.requested;
    auto t = tx();
    auto r = t.update_info(in, c.paths);
    ASSERT_OK(t.commit());
    auto after = info(key);
    ASSERT_OK(after);
    if (c.want) {
      ASSERT_OK(r);
      EXPECT_EQ(r->labels, *c.want);
      EXPECT_EQ(after->info.labels, *c.want);
      continue;
    }
    EXPECT_CODE(r, Code::InvalidArgument);
    expect_mentions(r, "\"" + c.bad_path + "\"");
    expect_mentions(r, "\"" + key + "\"");
    EXPECT_EQ(after->info.labels, c.current);
  }
}

} // namespace
} // namespace strata::metastore::test
