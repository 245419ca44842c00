// unpack_image with an in-memory snapshotter and a scripted differ, beside the root-only end to
// end tests (unpack_test.py, contract_test.py): which target each apply gets, the retry on the
// parent for NeedsParent (and for NotImplemented of a parentless apply) only, sync_fs reaching
// every apply, commits in layer order onto the right parents, and rollback of every active
// snapshot when a layer fails.
#include "chain.hpp"
#include "unpack.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace strata;
using images::ChainLocks;
using images::UnpackEnvironment;

// Snapshots as records: prepare/commit/remove/stat/walk with the "rebase" semantics of
// SnapshotOptions::parent. A parentless active is a bind mount, one with a parent an overlay.
class FakeSnapshotter final : public Snapshotter {
public:
  Result<Info> stat(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = infos_.find(key);
    if (it == infos_.end())
      return not_found("no snapshot " + key);
    return it->second;
  }
  Result<Info> update(const Info&, const std::vector<std::string>&) override {
    return not_implemented("fake");
  }
  Result<Usage> usage(const std::string&) override { return not_implemented("fake"); }
  Result<std::vector<Mount>> mounts(const std::string&) override { return not_implemented("fake"); }
  Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                     const SnapshotOptions& opts) override {
    std::lock_guard lock(mu_);
    if (infos_.count(key))
      return already_exists(key);
    if (!parent.empty() && (!infos_.count(parent) || infos_[parent].kind != Kind::Committed))
      return not_found("parent " + parent);
    infos_[key] = Info{Kind::Active, key, parent, opts.labels, {}, {}};
    if (parent.empty())
      return std::vector<Mount>{Mount{"bind", "/fake/" + key, "", {"rbind", "rw"}}};
    return std::vector<Mount>{
        Mount{"overlay", "overlay", "", {"lowerdir=/fake/" + parent, "upperdir=/fake/" + key}}};
  }
  Result<std::vector<Mount>> view(const std::string&, const std::string&,
                                  const SnapshotOptions&) override {
    return not_implemented("fake");
  }
  Status commit(const std::string& name, const std::string& key,
                const SnapshotOptions& opts) override {
    std::lock_guard lock(mu_);
    auto it = infos_.find(key);
    if (it == infos_.end() || it->second.kind != Kind::Active)
      return not_found("no active " + key);
    if (infos_.count(name))
      return already_exists(name);
    Info info = it->second;
    if (!opts.parent.empty()) {
      if (!info.parent.empty() && info.parent != opts.parent)
        return invalid_argument("other parent");
      if (!infos_.count(opts.parent) || infos_[opts.parent].kind != Kind::Committed)
        return not_found("parent " + opts.parent);
      info.parent = opts.parent;
    }
    info.kind = Kind::Committed;
    info.name = name;
    info.labels = opts.labels;
    infos_.erase(it);
    infos_[name] = info;
    commits_.push_back(name);
    return {};
  }
  Status remove(const std::string& key) override {
    std::lock_guard lock(mu_);
    return infos_.erase(key) ? Status{} : Status(not_found(key));
  }
  Status walk(const WalkFn& fn, const std::vector<std::string>&) override {
    std::vector<Info> all;
    {
      std::lock_guard lock(mu_);
      for (const auto& [k, i] : infos_)
        all.push_back(i);
    }
    for (const auto& i : all)
      if (auto st = fn(i); !st)
        return st;
    return {};
  }

  std::vector<std::string> actives() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [k, i] : infos_)
      if (i.kind == Kind::Active)
        out.push_back(k);
    return out;
  }
  std::vector<std::string> commits() {
    std::lock_guard lock(mu_);
    return commits_;
  }
  std::string parent_of(const std::string& name) {
    std::lock_guard lock(mu_);
    return infos_.at(name).parent;
  }

private:
  std::mutex mu_;
  std::map<std::string, Info> infos_;
  std::vector<std::string> commits_;
};

// One apply as the differ saw it.
struct Call {
  std::size_t layer;
  ApplyTarget target;
  std::string mount_type;
  bool sync_fs;
};

// Answers by layer: `needs_parent` layers say NeedsParent when applied parentless,
// `no_unknown_lowers` ones NotImplemented for that target, `missing` ones NotFound, `broken`
// ones Internal; the others succeed with their diff ID.
class ScriptedDiffer final : public Differ {
public:
  explicit ScriptedDiffer(const ImageManifest& m) : m_(m) {}

  Result<Descriptor> apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                           const ApplyOptions& opts) override {
    std::size_t i = 0;
    while (m_.layers[i].digest != desc.digest)
      ++i;
    {
      std::lock_guard lock(mu_);
      calls.push_back({i, opts.target, mounts.at(0).type, opts.sync_fs});
    }
    const bool unknown = opts.target == ApplyTarget::UpperdirUnknownLowers;
    if (missing.count(i))
      return not_found("blob " + desc.digest + " is not in the content store");
    if (broken.count(i))
      return internal_error("broken layer");
    if (unknown && needs_parent.count(i))
      return strata::needs_parent("hardlink to a lower file");
    if (unknown && no_unknown_lowers.count(i))
      return not_implemented("no differ takes that target");
    return Descriptor{media_type::layer_tar, m_.diff_ids[i], 1, {}};
  }
  Result<Descriptor> compare(const std::vector<Mount>&, const std::vector<Mount>&,
                             const CompareOptions&) override {
    return not_implemented("fake");
  }

  std::vector<Call> calls_of(std::size_t layer) {
    std::lock_guard lock(mu_);
    std::vector<Call> out;
    for (const auto& c : calls)
      if (c.layer == layer)
        out.push_back(c);
    return out;
  }

  std::set<std::size_t> needs_parent, no_unknown_lowers, missing, broken;
  std::vector<Call> calls;

private:
  const ImageManifest& m_;
  std::mutex mu_;
};

class UnpackFake : public ::testing::Test {
protected:
  void SetUp() override {
    auto& m = image_.resolved;
    for (int i = 0; i < 4; ++i) {
      const std::string n = std::to_string(i);
      m.layers.push_back(
          Descriptor{media_type::layer_tar, "sha256:" + std::string(63, 'a') + n, 1, {}});
      m.diff_ids.push_back("sha256:" + std::string(63, 'd') + n);
    }
    m.chain_ids = images::chain_ids(m.diff_ids);
    image_.name = "fake/image:1";
    env_.snapshotters["fake"] = images::UnpackTarget{sn_, true};
    env_.differ = differ_;
    env_.differ_applies_unknown_lowers = true;
    env_.max_parallel = 2;
    opts_.snapshotter = "fake";
  }

  Result<UnpackResult> unpack() { return images::unpack_image(image_, opts_, env_, locks_); }

  const std::vector<std::string>& chain() const { return image_.resolved.chain_ids; }

  void expect_committed_in_order() {
    EXPECT_EQ(sn_->commits(), chain());
    for (std::size_t i = 1; i < chain().size(); ++i)
      EXPECT_EQ(sn_->parent_of(chain()[i]), chain()[i - 1]) << "layer " << i;
    EXPECT_EQ(sn_->parent_of(chain()[0]), "");
    EXPECT_TRUE(sn_->actives().empty());
  }

  Image image_;
  std::shared_ptr<FakeSnapshotter> sn_ = std::make_shared<FakeSnapshotter>();
  std::shared_ptr<ScriptedDiffer> differ_ = std::make_shared<ScriptedDiffer>(image_.resolved);
  UnpackEnvironment env_;
  UnpackOptions opts_;
  ChainLocks locks_;
};

TEST_F(UnpackFake, ParallelAppliesLayersAboveTheFirstWithTheUnknownLowersTarget) {
  auto r = unpack();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->parallel);
  // The lowest missing layer has its parent (none here) in place: the plain target. The others
  // are applied before their parents into bind mounts, and the differ is told so, not left to
  // guess from the mounts.
  ASSERT_EQ(differ_->calls_of(0).size(), 1u);
  EXPECT_EQ(differ_->calls_of(0)[0].target, ApplyTarget::Mounts);
  for (std::size_t i = 1; i < 4; ++i) {
    auto calls = differ_->calls_of(i);
    ASSERT_EQ(calls.size(), 1u) << i;
    EXPECT_EQ(calls[0].target, ApplyTarget::UpperdirUnknownLowers) << i;
    EXPECT_EQ(calls[0].mount_type, "bind") << "the snapshotter's mounts, as they are";
    EXPECT_FALSE(calls[0].sync_fs);
  }
  expect_committed_in_order();
}

TEST_F(UnpackFake, NeedsParentIsAppliedAgainOntoTheCommittedParent) {
  differ_->needs_parent = {2};
  auto r = unpack();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_TRUE(r->parallel);
  auto calls = differ_->calls_of(2);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].target, ApplyTarget::UpperdirUnknownLowers);
  EXPECT_EQ(calls[1].target, ApplyTarget::Mounts);
  EXPECT_EQ(calls[1].mount_type, "overlay") << "prepared on its parent this time";
  EXPECT_TRUE(r->layers[2].applied);
  expect_committed_in_order();
}

TEST_F(UnpackFake, NotImplementedForTheParentlessTargetFallsBackToOrder) {
  // No differ takes this layer parentless (its media type only a differ without the capability
  // handles, say): it is applied in order like a layer that needs its parent.
  differ_->no_unknown_lowers = {1, 3};
  auto r = unpack();
  ASSERT_TRUE(r) << r.error().to_string();
  for (std::size_t i : {1, 3}) {
    auto calls = differ_->calls_of(i);
    ASSERT_EQ(calls.size(), 2u) << i;
    EXPECT_EQ(calls[1].target, ApplyTarget::Mounts) << i;
  }
  expect_committed_in_order();
}

TEST_F(UnpackFake, NotFoundIsFinalNotARetryAndEveryActiveIsRemoved) {
  // A missing blob is not "retry on the parent": the unpack stops before any commit.
  differ_->missing = {2};
  auto r = unpack();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::NotFound) << r.error().to_string();
  EXPECT_NE(r.error().message().find("layer 2"), std::string::npos) << r.error().message();
  EXPECT_EQ(differ_->calls_of(2).size(), 1u);
  EXPECT_TRUE(sn_->commits().empty());
  EXPECT_TRUE(sn_->actives().empty()) << "rollback";
}

TEST_F(UnpackFake, SequentialFailureKeepsTheCommittedLayersBelowAndRemovesTheRest) {
  opts_.parallel = false;
  differ_->broken = {2};
  auto r = unpack();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Internal);
  EXPECT_EQ(sn_->commits(), (std::vector<std::string>{chain()[0], chain()[1]}));
  EXPECT_TRUE(sn_->actives().empty());
  EXPECT_TRUE(differ_->calls_of(3).empty());
}

TEST_F(UnpackFake, ParallelFailureOfAnotherKindRollsBackEverything) {
  differ_->broken = {3};
  differ_->needs_parent = {1};
  auto r = unpack();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Code::Internal);
  EXPECT_TRUE(sn_->commits().empty());
  EXPECT_TRUE(sn_->actives().empty());
}

TEST_F(UnpackFake, WithoutTheCapabilityTheUnpackIsSequential) {
  // A diff service whose differs do not list apply-unknown-lowers is never handed the target.
  env_.differ_applies_unknown_lowers = false;
  auto r = unpack();
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->parallel);
  for (const auto& c : differ_->calls)
    EXPECT_EQ(c.target, ApplyTarget::Mounts);
  EXPECT_EQ(differ_->calls.size(), 4u);
  expect_committed_in_order();
}

TEST_F(UnpackFake, SyncFsIsAskedOfEveryApply) {
  for (bool from_config : {false, true}) {
    SCOPED_TRACE(from_config);
    sn_ = std::make_shared<FakeSnapshotter>();
    differ_ = std::make_shared<ScriptedDiffer>(image_.resolved);
    env_.snapshotters["fake"] = images::UnpackTarget{sn_, true};
    env_.differ = differ_;
    env_.sync_fs = from_config;
    opts_.sync_fs = !from_config;
    differ_->needs_parent = {2};
    auto r = unpack();
    ASSERT_TRUE(r) << r.error().to_string();
    EXPECT_TRUE(r->sync_fs);
    ASSERT_EQ(differ_->calls.size(), 5u);
    for (const auto& c : differ_->calls)
      EXPECT_TRUE(c.sync_fs) << "layer " << c.layer;
  }
}

} // namespace
