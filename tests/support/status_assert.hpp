#pragma once
// GoogleTest assertions on strata::Result and strata::Status that show the error when they fail.

#include <strata/plugin/error.hpp>

#include <gtest/gtest.h>

namespace strata::testing {

/// Success, or a failure showing the error.
template <class R>::testing::AssertionResult is_ok(const R& r) {
  if (r.ok())
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << r.error().to_string();
}

/// Failure with code `want`, or a failure saying what happened instead.
template <class R>::testing::AssertionResult has_code(const R& r, Code want) {
  if (r.ok())
    return ::testing::AssertionFailure() << "succeeded, want " << to_string(want);
  if (r.error().code() != want)
    return ::testing::AssertionFailure() << r.error().to_string() << ", want " << to_string(want);
  return ::testing::AssertionSuccess();
}

} // namespace strata::testing

// Macros so that failures point at the caller's line; all accept "<< message".
#define STRATA_ASSERT_OK(expr) ASSERT_TRUE(::strata::testing::is_ok(expr))
#define STRATA_EXPECT_OK(expr) EXPECT_TRUE(::strata::testing::is_ok(expr))
#define STRATA_EXPECT_CODE(expr, want) EXPECT_TRUE(::strata::testing::has_code((expr), want))
