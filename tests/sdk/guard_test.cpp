// strata::guard: exceptions become Internal errors with the context; values pass through.
#include <strata/plugin/guard.hpp>
#include <strata/plugin/registration.hpp>

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace strata {
namespace {

TEST(Guard, PassesValuesAndErrorsThrough) {
  auto v = guard("ctx", [] { return Result<int>(7); });
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 7);
  auto e = guard("ctx", []() -> Status { return not_found("nope"); });
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code(), Code::NotFound);
  EXPECT_EQ(e.error().message(), "nope");
}

TEST(Guard, StandardExceptionBecomesInternalWithWhat) {
  auto r = guard("content: update",
                 []() -> Result<std::string> { throw std::runtime_error("disk on fire"); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::Internal);
  EXPECT_EQ(r.error().message(), "content: update: disk on fire");
}

TEST(Guard, AnyOtherThrownValueBecomesInternal) {
  auto r = guard("walk", []() -> Status { throw 42; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::Internal);
  EXPECT_EQ(r.error().message(), "walk: non-standard exception");
}

TEST(Guard, ContextFunctionRunsOnlyWhenSomethingWasThrown) {
  int built = 0;
  auto context = [&] {
    ++built;
    return std::string("stat \"k\"");
  };
  ASSERT_TRUE(guard(context, [] { return Status{}; }).ok());
  EXPECT_EQ(built, 0);
  auto r = guard(context, []() -> Status { throw std::logic_error("bad"); });
  EXPECT_EQ(built, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "stat \"k\": bad");
}

TEST(Guard, InitResultToo) {
  auto r =
      guard("init threw an exception", []() -> InitResult { throw std::runtime_error("boom"); });
  ASSERT_TRUE(r.failed());
  EXPECT_EQ(r.error().code(), Code::Internal);
  EXPECT_EQ(r.error().message(), "init threw an exception: boom");
}

} // namespace
} // namespace strata
