// STRATA_TRY and STRATA_TRY_ASSIGN (strata/plugin/try.hpp): the Error comes back unchanged, the
// value is moved out, the expression runs once, and the function goes on only on success.
#include <strata/plugin/try.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace strata {
namespace {

Status fail_if(bool fail, int& calls) {
  ++calls;
  if (fail)
    return not_found("no such thing");
  return {};
}

Result<std::unique_ptr<int>> make(bool fail, int value, int& calls) {
  ++calls;
  if (fail)
    return failed_precondition("cannot make " + std::to_string(value));
  return std::make_unique<int>(value);
}

// A Status through STRATA_TRY into a Result of another type; `reached` shows whether it went on.
Result<std::string> after_status(bool fail, int& calls, bool& reached) {
  STRATA_TRY(fail_if(fail, calls));
  reached = true;
  return std::string("done");
}

// Two declarations from move-only values, on one line, into a Status function.
Status sum(bool fail_first, bool fail_second, int& calls, int& out) {
  // clang-format off
  STRATA_TRY_ASSIGN(auto a, make(fail_first, 1, calls)); STRATA_TRY_ASSIGN(auto b, make(fail_second, 2, calls));
  // clang-format on
  out = *a + *b;
  return {};
}

// Assignment to an existing variable, and a Result<T> dropped by STRATA_TRY.
Result<int> assign(bool fail, int& calls) {
  std::unique_ptr<int> p;
  STRATA_TRY_ASSIGN(p, make(fail, 7, calls));
  STRATA_TRY(make(false, 8, calls));
  return *p;
}

TEST(Try, StatusErrorReturnedUnchanged) {
  int calls = 0;
  bool reached = false;
  auto r = after_status(true, calls, reached);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound);
  EXPECT_EQ(r.error().message(), "no such thing");
  EXPECT_FALSE(reached);
  EXPECT_EQ(calls, 1);
}

TEST(Try, StatusSuccessGoesOn) {
  int calls = 0;
  bool reached = false;
  auto r = after_status(false, calls, reached);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "done");
  EXPECT_TRUE(reached);
  EXPECT_EQ(calls, 1);
}

TEST(Try, AssignDeclaresTheMovedValue) {
  int calls = 0, out = 0;
  ASSERT_TRUE(sum(false, false, calls, out));
  EXPECT_EQ(out, 3);
  EXPECT_EQ(calls, 2);
}

TEST(Try, AssignStopsAtTheFirstError) {
  int calls = 0, out = 0;
  auto st = sum(true, false, calls, out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::FailedPrecondition);
  EXPECT_EQ(st.error().message(), "cannot make 1");
  EXPECT_EQ(calls, 1) << "the second call ran after the first failed";
  EXPECT_EQ(out, 0);

  calls = 0;
  st = sum(false, true, calls, out);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message(), "cannot make 2");
  EXPECT_EQ(calls, 2);
}

TEST(Try, AssignToAnExistingVariable) {
  int calls = 0;
  auto r = assign(false, calls);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
  EXPECT_EQ(calls, 2);

  calls = 0;
  r = assign(true, calls);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "cannot make 7");
  EXPECT_EQ(calls, 1);
}

} // namespace
} // namespace strata
