// strata::update_labels and check_label_paths against the shared label table.
#include "label_cases.hpp"

#include <strata/plugin/labels.hpp>

#include <gtest/gtest.h>

namespace strata::test {
namespace {

TEST(Labels, UpdateTable) {
  for (const auto& c : label_cases()) {
    SCOPED_TRACE(c.name);
    auto got = update_labels(c.current, c.requested, c.paths);
    auto checked = check_label_paths(c.paths);
    if (c.want) {
      ASSERT_TRUE(got.ok()) << got.error().to_string();
      EXPECT_EQ(*got, *c.want);
      EXPECT_TRUE(checked.ok()) << checked.error().to_string();
      continue;
    }
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.error().code(), Code::InvalidArgument);
    EXPECT_NE(got.error().message().find("\"" + c.bad_path + "\""), std::string::npos)
        << got.error().message();
    ASSERT_FALSE(checked.ok());
    EXPECT_EQ(checked.error().message(), got.error().message());
  }
}

TEST(Labels, NeverKeepsEmptyValues) {
  // Even a stored map that holds one (an older store, a careless plugin) comes out clean.
  auto got = update_labels({{"a", ""}, {"b", "1"}}, {}, {"labels.c"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, (Labels{{"b", "1"}}));
}

} // namespace
} // namespace strata::test
