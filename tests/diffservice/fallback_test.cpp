// The fallback rule over in-process differs: the first differ that does not return
// NotImplemented decides, whether it succeeds or fails; the ones after it are never called.

#include "fake_differ.hpp"
#include "fallback.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace ds = strata::diffservice;
using diffservice_test::Behaviour;
using diffservice_test::FakeDiffer;

namespace {

struct Fakes {
  std::vector<std::shared_ptr<FakeDiffer>> differs;
  std::vector<ds::Candidate> order;

  void add(const std::string& id, Behaviour b) {
    differs.push_back(std::make_shared<FakeDiffer>(id, b));
    order.push_back({id, differs.back()});
  }
  std::vector<int> calls() const {
    std::vector<int> out;
    for (const auto& d : differs)
      out.push_back(d->calls());
    return out;
  }
};

Behaviour behaviour_of(const std::string& id) {
  if (id == "works")
    return Behaviour::Works;
  if (id == "fails")
    return Behaviour::Fails;
  return Behaviour::NotImplemented;
}

Fakes make(const std::vector<std::string>& ids) {
  Fakes f;
  for (const auto& id : ids)
    f.add(id, behaviour_of(id));
  return f;
}

strata::Result<strata::Descriptor> apply(const Fakes& f) {
  return ds::apply_in_order(f.order, strata::Descriptor{}, {}, strata::ApplyOptions{});
}

strata::Result<strata::Descriptor> compare(const Fakes& f) {
  return ds::compare_in_order(f.order, {}, {}, strata::CompareOptions{});
}

std::string by(const strata::Result<strata::Descriptor>& r) {
  return r ? r->annotations.at(diffservice_test::annotation_differ) : "error";
}

// A differ that breaks the no-exceptions rule.
class Throws final : public strata::Differ {
public:
  strata::Result<strata::Descriptor> apply(const strata::Descriptor&,
                                           const std::vector<strata::Mount>&,
                                           const strata::ApplyOptions&) override {
    throw std::runtime_error("kaboom");
  }
  strata::Result<strata::Descriptor> compare(const std::vector<strata::Mount>&,
                                             const std::vector<strata::Mount>&,
                                             const strata::CompareOptions&) override {
    throw 42;
  }
};

} // namespace

TEST(DiffFallback, NotImplementedFallsThroughToWorks) {
  auto f = make({"notimpl", "works"});
  auto r = apply(f);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(by(r), "works");
  EXPECT_EQ(r->annotations.at(diffservice_test::annotation_operation), "apply");
  EXPECT_EQ(f.calls(), (std::vector<int>{1, 1}));
}

TEST(DiffFallback, OtherErrorStopsTheFallback) {
  auto f = make({"fails", "works"});
  auto r = apply(f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), strata::Code::Internal);
  EXPECT_EQ(r.error().message(), "differ fails: boom");
  EXPECT_EQ(f.calls(), (std::vector<int>{1, 0})) << "works must not run after fails";
}

TEST(DiffFallback, FirstWorkingDifferWins) {
  auto f = make({"works", "fails"});
  auto r = apply(f);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(by(r), "works");
  EXPECT_EQ(f.calls(), (std::vector<int>{1, 0}));
}

TEST(DiffFallback, AllNotImplementedNamesEveryDifferAndReasonInOrder) {
  Fakes f;
  f.add("first", Behaviour::NotImplemented);
  f.add("second", Behaviour::NotImplemented);
  auto r = apply(f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), strata::Code::NotImplemented);
  EXPECT_EQ(r.error().message(), "no differ can apply this; tried in order: "
                                 "first: fake first: not mine; second: fake second: not mine");
  EXPECT_EQ(f.calls(), (std::vector<int>{1, 1}));
}

TEST(DiffFallback, EmptyOrderIsAClearError) {
  Fakes f;
  for (auto r : {apply(f), compare(f)}) {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), strata::Code::FailedPrecondition);
    EXPECT_NE(r.error().message().find("order is empty"), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("strata.service.v1.diff"), std::string::npos)
        << r.error().message();
  }
}

TEST(DiffFallback, ErrorCodeOfTheDecidingDifferIsKept) {
  class NotFound final : public FakeDiffer {
  public:
    NotFound() : FakeDiffer("nf", Behaviour::Works) {}
    strata::Result<strata::Descriptor> apply(const strata::Descriptor&,
                                             const std::vector<strata::Mount>&,
                                             const strata::ApplyOptions&) override {
      return strata::not_found("blob sha256:abc is not in the content store");
    }
  };
  Fakes f;
  f.add("notimpl", Behaviour::NotImplemented);
  f.order.push_back({"nf", std::make_shared<NotFound>()});
  auto r = apply(f);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), strata::Code::NotFound);
  EXPECT_EQ(r.error().message(), "differ nf: blob sha256:abc is not in the content store");
}

TEST(DiffFallback, ThrowingDifferBecomesInternalAndStops) {
  Fakes f;
  f.order.push_back({"thrower", std::make_shared<Throws>()});
  f.add("works", Behaviour::Works);
  auto a = apply(f);
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().code(), strata::Code::Internal);
  EXPECT_EQ(a.error().message(), "differ thrower threw an exception during apply: kaboom");
  auto c = compare(f);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "differ thrower threw a non-standard exception during compare");
  EXPECT_EQ(f.calls(), (std::vector<int>{0}));
}

// Every order of every non-empty subset of {notimpl, fails, works}, through apply and compare:
// differs up to the first one that is not notimpl are called once, later ones never; that one
// decides the result; with none, the result is NotImplemented naming each differ tried.
TEST(DiffFallback, EveryOrderOfNotimplFailsWorks) {
  const std::vector<std::vector<std::string>> subsets = {{"notimpl"},
                                                         {"fails"},
                                                         {"works"},
                                                         {"notimpl", "fails"},
                                                         {"notimpl", "works"},
                                                         {"fails", "works"},
                                                         {"notimpl", "fails", "works"}};
  int checked = 0;
  for (auto ids : subsets) {
    std::sort(ids.begin(), ids.end());
    do {
      for (const char* op : {"apply", "compare"}) {
        std::string name = op;
        for (const auto& id : ids)
          name += " " + id;
        SCOPED_TRACE(name);
        auto f = make(ids);
        auto r = std::string(op) == "apply" ? apply(f) : compare(f);
        const auto decider =
            std::find_if(ids.begin(), ids.end(), [](const auto& id) { return id != "notimpl"; });
        std::vector<int> expected_calls;
        for (auto it = ids.begin(); it != ids.end(); ++it)
          expected_calls.push_back(decider == ids.end() || it <= decider ? 1 : 0);
        EXPECT_EQ(f.calls(), expected_calls);
        if (decider == ids.end()) {
          ASSERT_FALSE(r);
          EXPECT_EQ(r.error().code(), strata::Code::NotImplemented);
          EXPECT_NE(r.error().message().find("notimpl: fake notimpl: not mine"), std::string::npos);
        } else if (*decider == "fails") {
          ASSERT_FALSE(r);
          EXPECT_EQ(r.error().code(), strata::Code::Internal);
          EXPECT_EQ(r.error().message(), "differ fails: boom");
        } else {
          ASSERT_TRUE(r) << r.error().to_string();
          EXPECT_EQ(by(r), "works");
          EXPECT_EQ(r->annotations.at(diffservice_test::annotation_operation), op);
        }
        ++checked;
      }
    } while (std::next_permutation(ids.begin(), ids.end()));
  }
  EXPECT_EQ(checked, 2 * (3 + 3 * 2 + 6));
}

namespace {

strata::ApplyOptions unknown_lowers() {
  strata::ApplyOptions o;
  o.target = strata::ApplyTarget::UpperdirUnknownLowers;
  return o;
}

} // namespace

TEST(DiffFallback, UnknownLowersTargetReachesOnlyDiffersThatListTheCapability) {
  // A differ that knows nothing of targets would write a parentless upperdir as a plain
  // directory and lose its whiteouts: it is never handed the target, even first in the order.
  Fakes f;
  f.add("plain", Behaviour::Works);
  f.add("capable", Behaviour::Works);
  f.order[1].apply_unknown_lowers = true;
  auto r = ds::apply_in_order(f.order, strata::Descriptor{}, {}, unknown_lowers());
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(by(r), "capable");
  EXPECT_EQ(f.calls(), (std::vector<int>{0, 1}));
  // The default target goes to the first differ as always.
  EXPECT_EQ(by(apply(f)), "plain");
  EXPECT_EQ(f.calls(), (std::vector<int>{1, 1}));
}

TEST(DiffFallback, UnknownLowersTargetWithNoCapableDifferIsNotImplemented) {
  Fakes f;
  f.add("works", Behaviour::Works);
  auto r = ds::apply_in_order(f.order, strata::Descriptor{}, {}, unknown_lowers());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), strata::Code::NotImplemented);
  EXPECT_NE(r.error().message().find("apply-unknown-lowers"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(f.calls(), (std::vector<int>{0}));
}
