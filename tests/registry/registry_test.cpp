// Registry validation and dependency graph ordering.
#include "strata/registry/graph.hpp"
#include "strata/registry/registry.hpp"

#include "fake_init_context.hpp"

#include <gtest/gtest.h>

#include <algorithm>

using namespace strata;
using namespace strata::registry;

namespace {

Registration reg(std::string type, std::string id, std::vector<std::string> requires_list = {}) {
  Registration r;
  r.type = std::move(type);
  r.id = std::move(id);
  r.requires_list = std::move(requires_list);
  r.init = [](InitContext&) -> InitResult { return internal_error("not used"); };
  return r;
}

class RegistryTest : public ::testing::Test {
protected:
  void SetUp() override { Registry::instance().reset(); }
  void TearDown() override { Registry::instance().reset(); }
  Registry& r = Registry::instance();

  std::vector<std::string> order(const std::set<std::string>& disabled = {}) {
    std::vector<std::string> out;
    for (auto& n : graph(r.entries(), disabled))
      out.push_back(n.entry.registration.uri());
    return out;
  }
  std::map<std::string, Node> nodes() {
    std::map<std::string, Node> out;
    for (auto& n : graph(r.entries(), {}))
      out.emplace(n.entry.registration.uri(), n);
    return out;
  }
};

TEST_F(RegistryTest, SingletonIsOneObject) {
  EXPECT_EQ(&Registry::instance(), &r);
}

TEST_F(RegistryTest, RefusesEmptyTypeAndId) {
  auto st = r.add(reg("", "x"), "a.so");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
  EXPECT_NE(st.error().message().find("a.so"), std::string::npos);
  EXPECT_FALSE(r.add(reg("strata.internal.v1", ""), "a.so"));
  EXPECT_TRUE(r.entries().empty());
}

TEST_F(RegistryTest, RefusesMissingInit) {
  auto x = reg("t.v1", "x");
  x.init = nullptr;
  EXPECT_EQ(r.add(x, "a.so").error().code(), Code::InvalidArgument);
}

TEST_F(RegistryTest, DuplicateNamesBothOrigins) {
  ASSERT_TRUE(r.add(reg("strata.internal.v1", "dup"), "/p/first.so"));
  auto st = r.add(reg("strata.internal.v1", "dup"), "/p/second.so");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::AlreadyExists);
  EXPECT_NE(st.error().message().find("/p/first.so"), std::string::npos);
  EXPECT_NE(st.error().message().find("/p/second.so"), std::string::npos);
  // Same id under another type is a different plugin.
  EXPECT_TRUE(r.add(reg("strata.service.v1", "dup"), "/p/third.so"));
}

TEST_F(RegistryTest, RefusesRequiringItself) {
  auto st = r.add(reg("t.v1", "a", {"t.v1.a"}), "a.so");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("requires itself"), std::string::npos);
}

TEST_F(RegistryTest, RefusesStarMixedWithOthers) {
  auto st = r.add(reg("t.v1", "a", {"*", "t.v1.b"}), "a.so");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
}

TEST_F(RegistryTest, RefusesMalformedRequires) {
  EXPECT_FALSE(r.add(reg("t.v1", "a", {"nodot"}), "a.so"));
  EXPECT_FALSE(r.add(reg("t.v1", "a", {"has space.x"}), "a.so"));
  EXPECT_FALSE(r.add(reg("t.v1", "a", {"trailing."}), "a.so"));
}

TEST_F(RegistryTest, OrdersByRequiresKeepingRegistrationOrderOtherwise) {
  ASSERT_TRUE(r.add(reg("strata.service.v1", "diff", {"strata.differ.v1.*"}), "1"));
  ASSERT_TRUE(r.add(reg("strata.internal.v1", "a"), "2"));
  ASSERT_TRUE(r.add(reg("strata.differ.v1", "walking", {"strata.content.v1.content"}), "3"));
  ASSERT_TRUE(r.add(reg("strata.content.v1", "content"), "4"));
  ASSERT_TRUE(r.add(reg("strata.differ.v1", "other"), "5"));
  EXPECT_EQ(order(), (std::vector<std::string>{"strata.content.v1.content",
                                               "strata.differ.v1.walking", "strata.differ.v1.other",
                                               "strata.service.v1.diff", "strata.internal.v1.a"}));
  // Deterministic: the same input gives the same order.
  EXPECT_EQ(order(), order());
}

TEST_F(RegistryTest, StarGoesLast) {
  ASSERT_TRUE(r.add(reg("t.v1", "all", {"*"}), "1"));
  ASSERT_TRUE(r.add(reg("t.v1", "b"), "2"));
  ASSERT_TRUE(r.add(reg("u.v1", "c"), "3"));
  EXPECT_EQ(order(), (std::vector<std::string>{"t.v1.b", "u.v1.c", "t.v1.all"}));
}

TEST_F(RegistryTest, TwoStarPluginsDoNotFormACycle) {
  ASSERT_TRUE(r.add(reg("t.v1", "x", {"*"}), "1"));
  ASSERT_TRUE(r.add(reg("t.v1", "y", {"*"}), "2"));
  ASSERT_TRUE(r.add(reg("t.v1", "z"), "3"));
  auto n = nodes();
  EXPECT_FALSE(n["t.v1.x"].problem);
  EXPECT_FALSE(n["t.v1.y"].problem);
  EXPECT_EQ(order().front(), "t.v1.z");
}

TEST_F(RegistryTest, CycleIsReportedNotRecursedForever) {
  ASSERT_TRUE(r.add(reg("t.v1", "a", {"t.v1.b"}), "1"));
  ASSERT_TRUE(r.add(reg("t.v1", "b", {"t.v1.c"}), "2"));
  ASSERT_TRUE(r.add(reg("t.v1", "c", {"t.v1.a"}), "3"));
  ASSERT_TRUE(r.add(reg("t.v1", "free"), "4"));
  auto n = nodes();
  for (auto uri : {"t.v1.a", "t.v1.b", "t.v1.c"}) {
    ASSERT_TRUE(n[uri].problem) << uri;
    const auto& m = n[uri].problem->message();
    EXPECT_NE(m.find("cycle"), std::string::npos);
    EXPECT_NE(m.find("t.v1.a -> t.v1.b -> t.v1.c -> t.v1.a"), std::string::npos) << m;
  }
  EXPECT_FALSE(n["t.v1.free"].problem);
  EXPECT_EQ(order().size(), 4u);
}

TEST_F(RegistryTest, SelfTypeWildcardExcludesSelf) {
  ASSERT_TRUE(r.add(reg("t.v1", "a", {"t.v1.*"}), "1"));
  ASSERT_TRUE(r.add(reg("t.v1", "b"), "2"));
  auto n = nodes();
  EXPECT_FALSE(n["t.v1.a"].problem);
  EXPECT_EQ(n["t.v1.a"].dependencies, (std::vector<std::string>{"t.v1.b"}));
  EXPECT_TRUE(n["t.v1.a"].hard_dependencies.empty());
}

TEST_F(RegistryTest, LongChainDoesNotOverflow) {
  constexpr int n = 2000;
  for (int i = 0; i < n; ++i) {
    std::vector<std::string> req;
    if (i + 1 < n)
      req.push_back("t.v1.p" + std::to_string(i + 1));
    ASSERT_TRUE(r.add(reg("t.v1", "p" + std::to_string(i), req), "f"));
  }
  auto o = order();
  ASSERT_EQ(o.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(o.front(), "t.v1.p" + std::to_string(n - 1));
  EXPECT_EQ(o.back(), "t.v1.p0");
}

TEST_F(RegistryTest, MissingDependencyIsAProblem) {
  ASSERT_TRUE(r.add(reg("t.v1", "a", {"strata.service.v1.nonexistent"}), "1"));
  auto n = nodes();
  ASSERT_TRUE(n["t.v1.a"].problem);
  EXPECT_EQ(n["t.v1.a"].problem->code(), Code::NotFound);
  EXPECT_NE(n["t.v1.a"].problem->message().find("strata.service.v1.nonexistent"),
            std::string::npos);
}

TEST_F(RegistryTest, OptionalDependencyOrdersWhenPresentAndIsNoProblemWhenAbsent) {
  ASSERT_TRUE(r.add(reg("strata.service.v1", "images", {"?strata.service.v1.diff"}), "1"));
  ASSERT_TRUE(r.add(reg("strata.service.v1", "diff"), "2"));
  ASSERT_TRUE(r.add(reg("strata.service.v1", "other", {"?strata.service.v1.gone"}), "3"));
  auto n = nodes();
  EXPECT_FALSE(n["strata.service.v1.images"].problem);
  EXPECT_EQ(n["strata.service.v1.images"].dependencies,
            (std::vector<std::string>{"strata.service.v1.diff"}));
  // Optional: the host does not hold it back when the dependency fails.
  EXPECT_TRUE(n["strata.service.v1.images"].hard_dependencies.empty());
  EXPECT_EQ(order(), (std::vector<std::string>{"strata.service.v1.diff", "strata.service.v1.images",
                                               "strata.service.v1.other"}));
  EXPECT_FALSE(n["strata.service.v1.other"].problem);
  EXPECT_TRUE(n["strata.service.v1.other"].dependencies.empty());
  // A disabled optional dependency is simply not there.
  for (auto& node : graph(r.entries(), {"strata.service.v1.diff"}))
    EXPECT_FALSE(node.problem) << node.entry.registration.uri();
}

TEST_F(RegistryTest, RefusesMalformedOptionalRequires) {
  auto wildcard = r.add(reg("t.v1", "a", {"?t.v1.*"}), "a.so");
  ASSERT_FALSE(wildcard);
  EXPECT_NE(wildcard.error().message().find("optional already"), std::string::npos)
      << wildcard.error().message();
  EXPECT_FALSE(r.add(reg("t.v1", "a", {"?"}), "a.so"));
  EXPECT_FALSE(r.add(reg("t.v1", "a", {"?nodot"}), "a.so"));
  EXPECT_FALSE(r.add(reg("t.v1", "a", {"?t.v1.a"}), "a.so")); // itself
}

TEST_F(RegistryTest, DisabledPluginsAreDroppedAndNeverSatisfyDependencies) {
  ASSERT_TRUE(r.add(reg("t.v1", "dep"), "1"));
  ASSERT_TRUE(r.add(reg("t.v1", "user", {"t.v1.dep"}), "2"));
  ASSERT_TRUE(r.add(reg("u.v1", "wild", {"t.v1.*"}), "3"));
  auto g = graph(r.entries(), {"t.v1.dep"});
  ASSERT_EQ(g.size(), 2u);
  for (auto& node : g) {
    EXPECT_NE(node.entry.registration.uri(), "t.v1.dep");
    if (node.entry.registration.uri() == "t.v1.user") {
      ASSERT_TRUE(node.problem);
      EXPECT_NE(node.problem->message().find("disabled"), std::string::npos);
    }
  }
}

TEST_F(RegistryTest, OriginRegistrarWrapsThrowingInit) {
  OriginRegistrar registrar(r, "/p/x.so", nullptr);
  auto x = reg("t.v1", "x");
  x.init = [](InitContext&) -> InitResult { throw std::runtime_error("boom"); };
  ASSERT_TRUE(static_cast<Registrar&>(registrar).add(x));
  EXPECT_EQ(registrar.registered(), (std::vector<std::string>{"t.v1.x"}));
  auto entries = r.entries();
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].origin, "/p/x.so");
  // InitContext is abstract; the wrapper never touches it before calling init.
  strata::testing::FakeInitContext ctx;
  auto result = entries[0].registration.init(ctx);
  ASSERT_TRUE(result.failed());
  EXPECT_EQ(result.error().code(), Code::Internal);
  EXPECT_NE(result.error().message().find("boom"), std::string::npos);
}

} // namespace
