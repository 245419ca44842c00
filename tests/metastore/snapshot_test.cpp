// Snapshot semantics of the metastore (containerd's storage package): key space, parents,
// commit and rebase, update field paths, remove, ids.

#include "support.hpp"

#include <chrono>

namespace strata::metastore::test {
namespace {

using std::chrono::system_clock;

TEST_F(StoreTest, CreateActiveAndViewWithoutParent) {
  auto before = system_clock::now();
  auto a = create(Kind::Active, "a", "", {{"x", "1"}});
  ASSERT_OK(a);
  EXPECT_EQ(a->id, 1);
  EXPECT_EQ(a->kind, Kind::Active);
  EXPECT_TRUE(a->parent_ids.empty());
  auto v = create(Kind::View, "v");
  ASSERT_OK(v);
  EXPECT_EQ(v->id, 2);
  EXPECT_EQ(v->kind, Kind::View);

  auto t = tx(false);
  auto got = t.get_snapshot("a");
  ASSERT_OK(got);
  EXPECT_EQ(*got, *a);
  auto rec = t.get_info("a");
  ASSERT_OK(rec);
  EXPECT_EQ(rec->id, 1);
  EXPECT_EQ(rec->info.kind, Kind::Active);
  EXPECT_EQ(rec->info.name, "a");
  EXPECT_EQ(rec->info.parent, "");
  EXPECT_EQ(rec->info.labels, (Labels{{"x", "1"}}));
  EXPECT_EQ(rec->info.created, rec->info.updated);
  EXPECT_GE(rec->info.created, before);
  EXPECT_LE(rec->info.created, system_clock::now());
  EXPECT_EQ(rec->usage, Usage{});
}

TEST_F(StoreTest, KeySpaceIsSharedByAllKinds) {
  ASSERT_OK(create(Kind::Active, "a"));
  EXPECT_CODE(create(Kind::Active, "a"), Code::AlreadyExists);
  EXPECT_CODE(create(Kind::View, "a"), Code::AlreadyExists);
  ASSERT_OK(create(Kind::View, "v"));
  EXPECT_CODE(create(Kind::View, "v"), Code::AlreadyExists);
  EXPECT_CODE(create(Kind::Active, "v"), Code::AlreadyExists);
  ASSERT_OK(commit("a", "c"));
  auto again = create(Kind::Active, "c");
  EXPECT_CODE(again, Code::AlreadyExists);
  EXPECT_NE(again.error().message().find("\"c\""), std::string::npos) << "names the key";
  // The active key is free again after commit.
  ASSERT_OK(create(Kind::Active, "a"));
}

TEST_F(StoreTest, CreateRejectsBadArguments) {
  EXPECT_CODE(create(Kind::Active, ""), Code::InvalidArgument);
  EXPECT_CODE(create(Kind::Committed, "c"), Code::InvalidArgument);
  EXPECT_CODE(create(Kind::Unknown, "u"), Code::InvalidArgument);
  // Nothing was created by the failed calls.
  EXPECT_CODE(info("c"), Code::NotFound);
  EXPECT_CODE(info("u"), Code::NotFound);
}

TEST_F(StoreTest, ParentMustExistAndBeCommitted) {
  auto missing = create(Kind::Active, "a", "nope");
  EXPECT_CODE(missing, Code::NotFound);
  EXPECT_NE(missing.error().message().find("\"nope\""), std::string::npos);
  ASSERT_OK(create(Kind::Active, "act"));
  ASSERT_OK(create(Kind::View, "view"));
  EXPECT_CODE(create(Kind::Active, "b", "act"), Code::InvalidArgument);
  EXPECT_CODE(create(Kind::View, "b", "act"), Code::InvalidArgument);
  EXPECT_CODE(create(Kind::Active, "b", "view"), Code::InvalidArgument);
  // AlreadyExists wins over parent checks, as in containerd.
  EXPECT_CODE(create(Kind::Active, "act", "nope"), Code::AlreadyExists);
  EXPECT_CODE(info("b"), Code::NotFound);
}

TEST_F(StoreTest, ParentIdsRunFromImmediateParentToBase) {
  SnapshotId base = layer("base");
  SnapshotId mid = layer("mid", "base");
  SnapshotId top = layer("top", "mid");
  auto a = create(Kind::Active, "work", "top");
  ASSERT_OK(a);
  EXPECT_EQ(a->parent_ids, (std::vector<SnapshotId>{top, mid, base}));
  auto v = create(Kind::View, "look", "mid");
  ASSERT_OK(v);
  EXPECT_EQ(v->parent_ids, (std::vector<SnapshotId>{mid, base}));
  auto t = tx(false);
  auto got = t.get_snapshot("work");
  ASSERT_OK(got);
  EXPECT_EQ(got->parent_ids, a->parent_ids);
  auto rec = t.get_info("top");
  ASSERT_OK(rec);
  EXPECT_EQ(rec->info.parent, "mid");
}

TEST_F(StoreTest, GetSnapshotNeedsActiveOrView) {
  layer("c");
  auto t = tx(false);
  EXPECT_CODE(t.get_snapshot("c"), Code::FailedPrecondition);
  EXPECT_CODE(t.get_snapshot("missing"), Code::NotFound);
  EXPECT_CODE(t.get_info("missing"), Code::NotFound);
}

TEST_F(StoreTest, EmptyLabelValuesAreNotStored) {
  ASSERT_OK(create(Kind::Active, "a", "", {{"keep", "v"}, {"drop", ""}}));
  auto rec = info("a");
  ASSERT_OK(rec);
  EXPECT_EQ(rec->info.labels, (Labels{{"keep", "v"}}));
}

TEST_F(StoreTest, KeysWithSlashesSpacesAndDigestsWork) {
  const std::string key = "default/12/extract-123-AbCd sha256:0123abcd";
  const std::string name = "default/13/sha256:feed beef";
  ASSERT_OK(create(Kind::Active, key));
  ASSERT_OK(commit(key, name));
  auto rec = info(name);
  ASSERT_OK(rec);
  EXPECT_EQ(rec->info.name, name);
  auto child = create(Kind::View, "v/w x", name);
  ASSERT_OK(child);
  EXPECT_EQ(child->parent_ids, std::vector<SnapshotId>{rec->id});
  auto map = tx(false).id_map();
  ASSERT_OK(map);
  EXPECT_EQ(map->at(rec->id), name);
}

// --- update_info ---------------------------------------------------------------------------

class UpdateTest : public StoreTest {
protected:
  void SetUp() override {
    StoreTest::SetUp();
    layer("p");
    ASSERT_OK(create(Kind::Active, "a", "p", {{"keep", "1"}, {"drop", "2"}, {"change", "3"}}));
  }
  Result<Info> update(const Info& in, const std::vector<std::string>& paths) {
    auto t = tx();
    auto r = t.update_info(in, paths);
    if (r.ok())
      if (auto st = t.commit(); !st.ok())
        return std::move(st).error();
    return r;
  }
  Labels labels() {
    auto r = info("a");
    return r.ok() ? r->info.labels : Labels{{"error", r.error().to_string()}};
  }
};

TEST_F(UpdateTest, NoFieldPathsReplacesOnlyLabels) {
  auto before = info("a");
  ASSERT_OK(before);
  Info in;
  in.name = "a";
  in.kind = Kind::Committed; // ignored
  in.parent = "elsewhere";   // ignored
  in.created = Timestamp{};  // ignored
  in.labels = {{"new", "x"}, {"empty", ""}};
  auto out = update(in, {});
  ASSERT_OK(out);
  EXPECT_EQ(out->labels, (Labels{{"new", "x"}}));
  EXPECT_EQ(out->kind, Kind::Active);
  EXPECT_EQ(out->parent, "p");
  EXPECT_EQ(out->name, "a");
  EXPECT_EQ(out->created, before->info.created);
  EXPECT_GT(out->updated, before->info.updated);
  auto after = info("a");
  ASSERT_OK(after);
  EXPECT_EQ(after->info, *out);
}

TEST_F(UpdateTest, LabelsFieldPathReplacesTheMap) {
  Info in;
  in.name = "a";
  in.labels = {{"only", "this"}};
  ASSERT_OK(update(in, {"labels"}));
  EXPECT_EQ(labels(), (Labels{{"only", "this"}}));
}

TEST_F(UpdateTest, LabelKeyPathsSetAndDelete) {
  Info in;
  in.name = "a";
  in.labels = {{"change", "30"}, {"added", "4"}, {"drop", ""}, {"untouched-in-input", "5"}};
  // "missing" is absent from the input: deleting an absent key is fine.
  ASSERT_OK(update(in, {"labels.change", "labels.added", "labels.drop", "labels.missing"}));
  EXPECT_EQ(labels(), (Labels{{"keep", "1"}, {"change", "30"}, {"added", "4"}}));
  // A key absent from the input deletes.
  Info none;
  none.name = "a";
  ASSERT_OK(update(none, {"labels.keep"}));
  EXPECT_EQ(labels(), (Labels{{"change", "30"}, {"added", "4"}}));
  // Dotted keys are one key after "labels.".
  Info dotted;
  dotted.name = "a";
  dotted.labels = {{"containerd.io/gc.root", "now"}};
  ASSERT_OK(update(dotted, {"labels.containerd.io/gc.root"}));
  EXPECT_EQ(labels().at("containerd.io/gc.root"), "now");
}

TEST_F(UpdateTest, OtherFieldPathsFailAndChangeNothing) {
  auto before = info("a");
  ASSERT_OK(before);
  Info in;
  in.name = "a";
  in.labels = {{"keep", "changed"}};
  for (std::string path : {"parent", "name", "kind", "created", "updated", "labels.", "label.x"}) {
    auto t = tx();
    auto r = t.update_info(in, {"labels.keep", path});
    EXPECT_CODE(r, Code::InvalidArgument);
    expect_mentions(r, "\"a\"");
    ASSERT_OK(t.commit()); // the failed call left nothing behind to commit
  }
  auto after = info("a");
  ASSERT_OK(after);
  EXPECT_EQ(after->info, before->info);
}

TEST_F(UpdateTest, MissingOrUnnamedSnapshot) {
  Info in;
  EXPECT_CODE(update(in, {}), Code::InvalidArgument);
  in.name = "nope";
  EXPECT_CODE(update(in, {}), Code::NotFound);
}

TEST_F(UpdateTest, CommittedAndViewSnapshotsCanBeLabelled) {
  Info in;
  in.name = "p";
  in.labels = {{"k", "v"}};
  auto out = update(in, {"labels.k"});
  ASSERT_OK(out);
  EXPECT_EQ(out->kind, Kind::Committed);
  EXPECT_EQ(out->labels, (Labels{{"k", "v"}}));
}

// --- commit_active ---------------------------------------------------------------------------

TEST_F(StoreTest, CommitKeepsIdAndReplacesLabels) {
  layer("base");
  auto a = create(Kind::Active, "work", "base", {{"from-prepare", "1"}});
  ASSERT_OK(a);
  auto t0 = system_clock::now();
  auto t = tx();
  auto id = t.commit_active("work", "done", Usage{4096, 3}, {{"from-commit", "2"}});
  ASSERT_OK(id);
  EXPECT_EQ(*id, a->id);
  ASSERT_OK(t.commit());

  EXPECT_CODE(info("work"), Code::NotFound);
  auto rec = info("done");
  ASSERT_OK(rec);
  EXPECT_EQ(rec->id, a->id);
  EXPECT_EQ(rec->info.kind, Kind::Committed);
  EXPECT_EQ(rec->info.parent, "base");
  EXPECT_EQ(rec->info.labels, (Labels{{"from-commit", "2"}}));
  EXPECT_EQ(rec->info.created, rec->info.updated);
  EXPECT_GE(rec->info.created, t0);
  EXPECT_EQ(rec->usage, (Usage{4096, 3}));
  // The committed snapshot is a valid parent with the same id.
  auto child = create(Kind::View, "child", "done");
  ASSERT_OK(child);
  EXPECT_EQ(child->parent_ids.front(), a->id);
}

TEST_F(StoreTest, CommitErrors) {
  layer("c");
  ASSERT_OK(create(Kind::View, "v"));
  ASSERT_OK(create(Kind::Active, "a"));
  EXPECT_CODE(commit("v", "x"), Code::FailedPrecondition);
  EXPECT_CODE(commit("c", "x"), Code::FailedPrecondition);
  EXPECT_CODE(commit("a", "c"), Code::AlreadyExists);
  EXPECT_CODE(commit("a", "v"), Code::AlreadyExists);
  EXPECT_CODE(commit("a", "a"), Code::AlreadyExists);
  EXPECT_CODE(commit("missing", "x"), Code::NotFound);
  EXPECT_CODE(commit("missing", "c"), Code::NotFound); // the key is looked up first
  EXPECT_CODE(commit("a", ""), Code::InvalidArgument);
  EXPECT_CODE(commit("", "x"), Code::InvalidArgument);
  // Nothing changed: "a" is still active, "x" does not exist.
  auto rec = info("a");
  ASSERT_OK(rec);
  EXPECT_EQ(rec->info.kind, Kind::Active);
  EXPECT_CODE(info("x"), Code::NotFound);
}

TEST_F(StoreTest, RebaseOnCommit) {
  SnapshotId p = layer("P");
  layer("Q");
  ASSERT_OK(create(Kind::Active, "act"));
  ASSERT_OK(create(Kind::View, "view"));

  // A parentless active onto P.
  ASSERT_OK(create(Kind::Active, "free"));
  ASSERT_OK(commit("free", "free-c", {}, "P"));
  auto rec = info("free-c");
  ASSERT_OK(rec);
  EXPECT_EQ(rec->info.parent, "P");
  auto child = create(Kind::View, "free-child", "free-c");
  ASSERT_OK(child);
  EXPECT_EQ(child->parent_ids, (std::vector<SnapshotId>{rec->id, p}));
  // P cannot go while the rebased snapshot uses it.
  EXPECT_CODE(remove("P"), Code::FailedPrecondition);

  // Same parent is accepted; "" keeps the parent.
  ASSERT_OK(create(Kind::Active, "onP", "P"));
  ASSERT_OK(commit("onP", "onP-c", {}, "P"));
  EXPECT_EQ(info("onP-c")->info.parent, "P");
  ASSERT_OK(create(Kind::Active, "onP2", "P"));
  ASSERT_OK(commit("onP2", "onP2-c", {}, ""));
  EXPECT_EQ(info("onP2-c")->info.parent, "P");

  // A different parent is refused.
  ASSERT_OK(create(Kind::Active, "onP3", "P"));
  EXPECT_CODE(commit("onP3", "x", {}, "Q"), Code::InvalidArgument);
  // Missing, active and view parents.
  ASSERT_OK(create(Kind::Active, "free2"));
  EXPECT_CODE(commit("free2", "x", {}, "missing"), Code::NotFound);
  EXPECT_CODE(commit("free2", "x", {}, "act"), Code::FailedPrecondition);
  EXPECT_CODE(commit("free2", "x", {}, "view"), Code::FailedPrecondition);
  EXPECT_CODE(commit("free2", "x", {}, "free2"), Code::FailedPrecondition);
  // The failures changed nothing.
  auto still = info("free2");
  ASSERT_OK(still);
  EXPECT_EQ(still->info.kind, Kind::Active);
  EXPECT_EQ(still->info.parent, "");
  EXPECT_EQ(info("onP3")->info.kind, Kind::Active);
  EXPECT_CODE(info("x"), Code::NotFound);
}

// --- remove ----------------------------------------------------------------------------------

TEST_F(StoreTest, RemoveRefusesSnapshotsWithChildrenOfAnyKind) {
  SnapshotId base = layer("base");
  ASSERT_OK(create(Kind::Active, "a", "base"));
  ASSERT_OK(create(Kind::View, "v", "base"));
  layer("c", "base");
  for (const char* child : {"a", "v", "c"}) {
    auto r = remove("base");
    EXPECT_CODE(r, Code::FailedPrecondition);
    expect_mentions(r, "remove");
    auto gone = remove(child);
    ASSERT_OK(gone);
  }
  auto r = remove("base");
  ASSERT_OK(r);
  EXPECT_EQ(r->id, base);
  EXPECT_EQ(r->kind, Kind::Committed);
  EXPECT_CODE(remove("base"), Code::NotFound);
  EXPECT_CODE(info("base"), Code::NotFound);
}

TEST_F(StoreTest, RemoveReturnsIdAndKindAndFreesTheKey) {
  auto a = create(Kind::Active, "a", "", {{"l", "v"}});
  ASSERT_OK(a);
  auto v = create(Kind::View, "v");
  ASSERT_OK(v);
  auto ra = remove("a");
  ASSERT_OK(ra);
  EXPECT_EQ(ra->id, a->id);
  EXPECT_EQ(ra->kind, Kind::Active);
  auto rv = remove("v");
  ASSERT_OK(rv);
  EXPECT_EQ(rv->kind, Kind::View);
  // The key is reusable at once, with a fresh id and no stale labels.
  auto again = create(Kind::Active, "a");
  ASSERT_OK(again);
  EXPECT_GT(again->id, v->id);
  EXPECT_TRUE(info("a")->info.labels.empty());
}

TEST_F(StoreTest, IdsAreNeverReused) {
  ASSERT_OK(create(Kind::Active, "a"));
  auto b = create(Kind::Active, "b");
  ASSERT_OK(b);
  ASSERT_OK(remove("b")); // the highest id
  auto c = create(Kind::Active, "c");
  ASSERT_OK(c);
  EXPECT_EQ(c->id, b->id + 1);

  // An id handed out by a transaction that rolled back is not handed out again: the
  // snapshotter may have created a directory with that name.
  SnapshotId rolled = 0;
  {
    auto t = tx();
    auto d = t.create_snapshot(Kind::Active, "d", "");
    ASSERT_OK(d);
    rolled = d->id;
  } // destructor rolls back
  EXPECT_CODE(info("d"), Code::NotFound);
  {
    auto t = tx();
    auto d = t.create_snapshot(Kind::Active, "d", "");
    ASSERT_OK(d);
    EXPECT_GT(d->id, rolled);
    rolled = d->id;
    t.rollback();
  }
  auto e = create(Kind::Active, "e");
  ASSERT_OK(e);
  EXPECT_GT(e->id, rolled);
  // ... also across reopening.
  ASSERT_OK(remove("e"));
  reopen();
  auto f = create(Kind::Active, "f");
  ASSERT_OK(f);
  EXPECT_GT(f->id, e->id);
}

TEST_F(StoreTest, IdMapListsEverySnapshot) {
  SnapshotId c = layer("c");
  auto a = create(Kind::Active, "a b/c", "c");
  ASSERT_OK(a);
  auto v = create(Kind::View, "v");
  ASSERT_OK(v);
  auto map = tx(false).id_map();
  ASSERT_OK(map);
  EXPECT_EQ(*map, (std::map<SnapshotId, std::string>{{c, "c"}, {a->id, "a b/c"}, {v->id, "v"}}));
}

// --- transactions ----------------------------------------------------------------------------

TEST_F(StoreTest, ReadOnlyTransactionRefusesWrites) {
  ASSERT_OK(create(Kind::Active, "a"));
  auto t = tx(false);
  EXPECT_FALSE(t.writable());
  EXPECT_CODE(t.create_snapshot(Kind::Active, "b", ""), Code::FailedPrecondition);
  EXPECT_CODE(t.commit_active("a", "c", {}), Code::FailedPrecondition);
  EXPECT_CODE(t.remove("a"), Code::FailedPrecondition);
  Info in;
  in.name = "a";
  EXPECT_CODE(t.update_info(in, {}), Code::FailedPrecondition);
  ASSERT_OK(t.get_info("a"));
  ASSERT_OK(t.commit());
  EXPECT_EQ(info("a")->info.kind, Kind::Active);
}

TEST_F(StoreTest, EndedTransactionRefusesEverything) {
  auto t = tx();
  ASSERT_OK(t.create_snapshot(Kind::Active, "a", ""));
  ASSERT_OK(t.commit());
  EXPECT_CODE(t.commit(), Code::FailedPrecondition);
  EXPECT_CODE(t.get_info("a"), Code::FailedPrecondition);
  EXPECT_CODE(t.create_snapshot(Kind::Active, "b", ""), Code::FailedPrecondition);
  t.rollback(); // harmless
  auto moved = tx();
  Transaction other = std::move(moved);
  ASSERT_OK(other.get_info("a"));
  other.rollback();
  EXPECT_CODE(other.get_info("a"), Code::FailedPrecondition);
}

TEST_F(StoreTest, FailedOperationsLeaveTheTransactionUsable) {
  auto t = tx();
  ASSERT_OK(t.create_snapshot(Kind::Active, "a", ""));
  EXPECT_CODE(t.create_snapshot(Kind::Active, "a", ""), Code::AlreadyExists);
  EXPECT_CODE(t.create_snapshot(Kind::Active, "b", "missing"), Code::NotFound);
  ASSERT_OK(t.commit_active("a", "c", {}));
  ASSERT_OK(t.commit());
  EXPECT_EQ(info("c")->info.kind, Kind::Committed);
  EXPECT_CODE(info("b"), Code::NotFound);
}

TEST_F(StoreTest, WithTransactionCommitsOnSuccessOnly) {
  ASSERT_OK(store().with_transaction(true, [](Transaction& t) -> Status {
    auto r = t.create_snapshot(Kind::Active, "kept", "");
    if (!r.ok())
      return std::move(r).error();
    return {};
  }));
  auto st = store().with_transaction(true, [](Transaction& t) -> Status {
    if (auto r = t.create_snapshot(Kind::Active, "dropped", ""); !r.ok())
      return std::move(r).error();
    return unavailable("filesystem work failed");
  });
  EXPECT_CODE(st, Code::Unavailable);
  ASSERT_OK(info("kept"));
  EXPECT_CODE(info("dropped"), Code::NotFound);
}

TEST_F(StoreTest, TransactionOutlivesTheStoreHandle) {
  auto t = tx();
  store_.reset();
  ASSERT_OK(t.create_snapshot(Kind::Active, "a", ""));
  ASSERT_OK(t.commit());
  reopen();
  ASSERT_OK(info("a"));
}

} // namespace
} // namespace strata::metastore::test
