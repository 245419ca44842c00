// DiffService: the fallback through the SDK's Differ interface, and the service-level sync_fs.

#include "fake_differ.hpp"
#include "service.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace ds = strata::diffservice;
using diffservice_test::Behaviour;
using diffservice_test::FakeDiffer;

namespace {

struct Pair {
  std::shared_ptr<FakeDiffer> notimpl =
      std::make_shared<FakeDiffer>("notimpl", Behaviour::NotImplemented);
  std::shared_ptr<FakeDiffer> works = std::make_shared<FakeDiffer>("works", Behaviour::Works);
  std::vector<ds::Candidate> order() const { return {{"notimpl", notimpl}, {"works", works}}; }
};

bool applied_with_sync(bool service_sync, bool caller_sync) {
  Pair s;
  std::shared_ptr<strata::Differ> service =
      std::make_shared<ds::DiffService>(s.order(), service_sync);
  strata::ApplyOptions opts;
  opts.sync_fs = caller_sync;
  auto r = service->apply(strata::Descriptor{}, {}, opts);
  EXPECT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(s.notimpl->last_sync_fs(), s.works->last_sync_fs()) << "every differ sees the same";
  return s.works->last_sync_fs();
}

} // namespace

TEST(DiffService, IsADifferThatFallsBack) {
  Pair s;
  std::shared_ptr<strata::Differ> service = std::make_shared<ds::DiffService>(s.order(), false);
  auto a = service->apply(strata::Descriptor{}, {}, strata::ApplyOptions{});
  ASSERT_TRUE(a) << a.error().to_string();
  EXPECT_EQ(a->annotations.at(diffservice_test::annotation_differ), "works");
  auto c = service->compare({}, {}, strata::CompareOptions{});
  ASSERT_TRUE(c) << c.error().to_string();
  EXPECT_EQ(c->annotations.at(diffservice_test::annotation_operation), "compare");
  EXPECT_EQ(s.notimpl->calls(), 2);
  EXPECT_EQ(s.works->calls(), 2);
}

TEST(DiffService, SyncFsIsOnWhenTheServiceOrTheCallerAsks) {
  EXPECT_FALSE(applied_with_sync(false, false));
  EXPECT_TRUE(applied_with_sync(false, true));
  EXPECT_TRUE(applied_with_sync(true, false));
  EXPECT_TRUE(applied_with_sync(true, true));
}

TEST(DiffService, ApplyKeepsTheCallersOtherOptions) {
  class Spy final : public FakeDiffer {
  public:
    Spy() : FakeDiffer("spy", Behaviour::Works) {}
    strata::Result<strata::Descriptor> apply(const strata::Descriptor& d,
                                             const std::vector<strata::Mount>& m,
                                             const strata::ApplyOptions& o) override {
      seen = o;
      seen_desc = d;
      seen_mounts = m;
      return FakeDiffer::apply(d, m, o);
    }
    strata::ApplyOptions seen;
    strata::Descriptor seen_desc;
    std::vector<strata::Mount> seen_mounts;
  };
  auto spy = std::make_shared<Spy>();
  ds::DiffService service({{"spy", spy}}, true);
  strata::ApplyOptions opts;
  opts.diff_id = "sha256:" + std::string(64, 'a');
  opts.processor_payloads["p"] = "payload";
  const strata::Descriptor desc{
      strata::media_type::layer_tar_gzip, "sha256:" + std::string(64, 'b'), 42, {}};
  const std::vector<strata::Mount> mounts{{"bind", "/tmp/x", "", {"rbind", "rw"}}};
  ASSERT_TRUE(service.apply(desc, mounts, opts));
  EXPECT_TRUE(spy->seen.sync_fs);
  EXPECT_EQ(spy->seen.diff_id, opts.diff_id);
  EXPECT_EQ(spy->seen.processor_payloads, opts.processor_payloads);
  EXPECT_EQ(spy->seen_desc, desc);
  EXPECT_EQ(spy->seen_mounts, mounts);
}

TEST(DiffService, ListsApplyUnknownLowersWhenOneOfItsDiffersDoes) {
  Pair s;
  EXPECT_FALSE(ds::DiffService(s.order(), false).apply_unknown_lowers());
  auto order = s.order();
  order[1].apply_unknown_lowers = true;
  EXPECT_TRUE(ds::DiffService(order, false).apply_unknown_lowers());
}
