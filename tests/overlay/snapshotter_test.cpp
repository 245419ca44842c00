// The overlay snapshotter on a real filesystem with real mounts: chains, views, errors,
// labels, walk, usage, rebase, removal, reconcile at open, idmaps, 500 layers.
#include "deep_tree.hpp"
#include "init.hpp"
#include "recording_logger.hpp"
#include "support.hpp"
#include "tree.hpp"

#include <strata/mount/mount.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <thread>
#include <unistd.h>

namespace strata::overlay::test {
namespace {

namespace stdfs = std::filesystem;

class OverlayTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (::geteuid() != 0)
      GTEST_SKIP() << "overlay snapshotter tests need root (real overlay mounts)";
    scratch_ = std::make_unique<Scratch>();
    const ProbeResult& p = probed("/var/tmp");
    if (p.unsupported)
      GTEST_SKIP() << "overlay unsupported on /var/tmp: " << *p.unsupported;
    features_ = p.features;
    root_ = scratch_->path() + "/root";
    reopen();
  }
  void TearDown() override {
    snap_.reset();
    scratch_.reset(); // unmounts whatever a failed test left mounted
  }

  void reopen(Config config = {}, std::optional<Features> features = {},
              Reconciled* report = nullptr, std::shared_ptr<Logger> log = nullptr) {
    snap_.reset();
    auto s = OverlaySnapshotter::open(root_, std::move(config), features.value_or(features_),
                                      report, std::move(log));
    ASSERT_TRUE(s) << s.error().to_string();
    snap_ = *s;
  }

  std::string mnt(const std::string& name) { return scratch_->path() + "/mnt/" + name; }
  std::string snapshots() { return root_ + "/snapshots"; }

  // Prepares `key` on `parent`, writes `files` (path -> content) through a real mount, removes
  // `remove` through it, unmounts and commits as `name`.
  void layer(const std::string& name, const std::string& parent,
             const std::map<std::string, std::string>& files,
             const std::vector<std::string>& remove = {}) {
    const std::string key = name + "-active";
    auto m = snap_->prepare(key, parent, {});
    ASSERT_TRUE(m) << m.error().to_string();
    {
      Mounted at(*m, mnt(key));
      ASSERT_TRUE(at.ok()) << at.error();
      for (const auto& [path, content] : files)
        ASSERT_TRUE(write_file(at.path() + "/" + path, content)) << path;
      for (const auto& path : remove)
        ASSERT_TRUE(stdfs::remove_all(at.path() + "/" + path) > 0) << path;
    }
    ASSERT_OK(snap_->commit(name, key, {}));
  }

  std::unique_ptr<Scratch> scratch_;
  Features features_;
  std::string root_;
  std::shared_ptr<OverlaySnapshotter> snap_;
};

// --- mount shapes and layout --------------------------------------------------------------

TEST_F(OverlayTest, FirstPrepareIsRwBindOfSnapshotOneFs) {
  auto m = snap_->prepare("first", "", {});
  ASSERT_OK(m);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].type, "bind");
  EXPECT_EQ((*m)[0].source, root_ + "/snapshots/1/fs");
  EXPECT_EQ((*m)[0].options, (std::vector<std::string>{"rw", "rbind"}));
  EXPECT_TRUE(exists(root_ + "/metadata.db"));
  EXPECT_TRUE(exists(root_ + "/snapshots/1/work"));
  struct stat st {};
  ASSERT_EQ(::stat((root_ + "/snapshots/1/fs").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u) << "a fresh root is 0755 whatever the umask";
  auto again = snap_->mounts("first");
  ASSERT_OK(again);
  EXPECT_EQ(*again, *m) << "mounts() recovers what prepare returned";
}

TEST_F(OverlayTest, MountShapes) {
  Config c;
  c.mount_options = {"volatile"};
  reopen(c);
  layer("base", "", {{"a", "1"}});
  layer("mid", "base", {{"b", "2"}});
  const std::string base_fs = root_ + "/snapshots/1/fs", mid_fs = root_ + "/snapshots/2/fs";

  auto v1 = snap_->view("v1", "base", {});
  ASSERT_OK(v1);
  EXPECT_EQ(*v1, (std::vector<Mount>{{"bind", base_fs, "", {"ro", "rbind"}}}))
      << "a one-parent view is a read-only bind of the parent";

  auto v2 = snap_->view("v2", "mid", {});
  ASSERT_OK(v2);
  ASSERT_EQ(v2->size(), 1u);
  EXPECT_EQ((*v2)[0].type, "overlay");
  std::vector<std::string> want{"lowerdir=" + mid_fs + ":" + base_fs, "volatile"};
  if (features_.userxattr)
    want.push_back("userxattr");
  if (features_.index_option)
    want.push_back("index=off");
  EXPECT_EQ((*v2)[0].options, want);

  auto a = snap_->prepare("a", "mid", {});
  ASSERT_OK(a);
  auto info = snap_->stat("a");
  ASSERT_OK(info);
  ASSERT_EQ(a->size(), 1u);
  const auto& o = (*a)[0].options;
  ASSERT_GE(o.size(), 4u);
  EXPECT_TRUE(o[0].starts_with("workdir=" + root_ + "/snapshots/")) << o[0];
  EXPECT_TRUE(o[1].starts_with("upperdir=" + root_ + "/snapshots/")) << o[1];
  EXPECT_EQ(o[2], "lowerdir=" + mid_fs + ":" + base_fs) << "nearest parent first";
  EXPECT_EQ(o[3], "volatile");
  if (features_.index_option) {
    EXPECT_EQ(o.back(), "index=off");
  }
}

TEST_F(OverlayTest, ConfiguredIndexIsNotOverridden) {
  Config c;
  c.mount_options = {"index=on"};
  reopen(c);
  layer("base", "", {});
  auto a = snap_->prepare("a", "base", {});
  ASSERT_OK(a);
  const auto& o = (*a)[0].options;
  EXPECT_EQ(std::count(o.begin(), o.end(), "index=off"), 0);
  EXPECT_EQ(std::count(o.begin(), o.end(), "index=on"), 1);
}

TEST_F(OverlayTest, KeysAreNeverPaths) {
  const std::string key = "extract-123-AbCd sha256:abc/../x y";
  auto m = snap_->prepare(key, "", {});
  ASSERT_OK(m);
  ASSERT_OK(snap_->commit("sha256:deadbeef/with/slashes", key, {}));
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"1"}));
  ASSERT_OK(snap_->stat("sha256:deadbeef/with/slashes"));
}

// --- chains with real mounts --------------------------------------------------------------

TEST_F(OverlayTest, PrepareCommitViewChainWithWhiteouts) {
  layer("l1", "", {{"etc/hosts", "h1"}, {"gone", "x"}, {"dir/keep", "k"}, {"dir/hidden", "h"}});
  auto m = snap_->prepare("l2-active", "l1", {});
  ASSERT_OK(m);
  {
    Mounted at(*m, mnt("l2"));
    ASSERT_TRUE(at.ok()) << at.error();
    EXPECT_EQ(read_file(at.path() + "/etc/hosts"), "h1") << "the parent's file shows";
    ASSERT_EQ(::unlink((at.path() + "/gone").c_str()), 0) << "whiteout-delete in the child";
    ASSERT_TRUE(stdfs::remove_all(at.path() + "/dir") > 0);
    ASSERT_EQ(::mkdir((at.path() + "/dir").c_str(), 0755), 0);
    ASSERT_TRUE(write_file(at.path() + "/dir/new", "n"));
    ASSERT_TRUE(write_file(at.path() + "/etc/hosts", "h2"));
    EXPECT_FALSE(exists(at.path() + "/gone"));
  }
  ASSERT_OK(snap_->commit("l2", "l2-active", {}));
  layer("l3", "l2", {{"top", "t"}});

  auto v = snap_->view("v", "l3", {});
  ASSERT_OK(v);
  Mounted at(*v, mnt("v"));
  ASSERT_TRUE(at.ok()) << at.error();
  EXPECT_EQ(read_file(at.path() + "/etc/hosts"), "h2");
  EXPECT_EQ(read_file(at.path() + "/top"), "t");
  EXPECT_EQ(read_file(at.path() + "/dir/new"), "n");
  EXPECT_FALSE(exists(at.path() + "/gone")) << "the whiteout persists through later layers";
  EXPECT_FALSE(exists(at.path() + "/dir/hidden")) << "the opaque dir hides the lower entries";
  EXPECT_FALSE(exists(at.path() + "/dir/keep"));
  // The parent layer itself is untouched.
  EXPECT_EQ(read_file(root_ + "/snapshots/1/fs/gone"), "x");
}

TEST_F(OverlayTest, ViewsAreReadOnlyForReal) {
  layer("l1", "", {{"f", "1"}});
  layer("l2", "l1", {{"g", "2"}});
  for (const char* parent : {"l1", "l2"}) {
    auto v = snap_->view(std::string("view-") + parent, parent, {});
    ASSERT_OK(v);
    Mounted at(*v, mnt(std::string("view-") + parent));
    ASSERT_TRUE(at.ok()) << at.error();
    int fd = ::open((at.path() + "/new").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
    int err = errno;
    if (fd >= 0)
      ::close(fd);
    EXPECT_LT(fd, 0) << "write into a view on " << parent << " succeeded";
    EXPECT_EQ(err, EROFS) << parent;
  }
}

TEST_F(OverlayTest, ActiveMountedOnceViewsMany) {
  layer("base", "", {{"dir/f", "base"}});
  auto a = snap_->prepare("a", "base", {});
  ASSERT_OK(a);
  Mounted one(*a, mnt("one"));
  ASSERT_TRUE(one.ok()) << one.error();
  // A second mount would clean the shared workdir under the first (index=off lets it through).
  {
    Mounted two(*a, mnt("two"));
    ASSERT_FALSE(two.ok()) << "second mount of the same active snapshot was accepted";
    EXPECT_NE(two.error().find("FailedPrecondition"), std::string::npos) << two.error();
    EXPECT_NE(two.error().find("\"" + one.path() + "\""), std::string::npos) << two.error();
  }
  std::error_code ec;
  std::filesystem::remove_all(one.path() + "/dir", ec);
  EXPECT_FALSE(ec) << "the first mount no longer writes: " << ec.message();
  auto v = snap_->view("v", "base", {});
  ASSERT_OK(v);
  Mounted three(*v, mnt("three")), four(*v, mnt("four"));
  EXPECT_TRUE(three.ok() && four.ok()) << three.error() << four.error();
  one.release();
  Mounted again(*a, mnt("two"));
  EXPECT_TRUE(again.ok()) << again.error();
}

TEST_F(OverlayTest, UserxattrMountsWork) {
  // What a user namespace gets from the probe; as root the same mounts work, so the option path
  // (whiteouts and opaque dirs kept in user.overlay.* xattrs) is exercised here too.
  Features f = features_;
  f.userxattr = true;
  reopen({}, f);
  layer("l1", "", {{"gone", "g"}, {"dir/hidden", "h"}});
  layer("l2", "l1", {}, {"gone", "dir"});
  layer("l3", "l2", {{"dir/new", "n"}}); // a directory over a whiteout: opaque
  auto v = snap_->view("v", "l3", {});
  ASSERT_OK(v);
  const auto& o = v->front().options;
  EXPECT_NE(std::find(o.begin(), o.end(), "userxattr"), o.end());
  Mounted at(*v, mnt("v"));
  ASSERT_TRUE(at.ok()) << at.error();
  EXPECT_FALSE(exists(at.path() + "/gone"));
  EXPECT_EQ(read_file(at.path() + "/dir/new"), "n");
  EXPECT_FALSE(exists(at.path() + "/dir/hidden")) << "the opaque dir hides l1's entries";
}

// --- errors -------------------------------------------------------------------------------

TEST_F(OverlayTest, ErrorCases) {
  layer("c", "", {});
  ASSERT_OK(snap_->prepare("a", "c", {}));
  ASSERT_OK(snap_->view("v", "c", {}));

  EXPECT_CODE(snap_->prepare("a", "", {}), Code::AlreadyExists);
  EXPECT_CODE(snap_->prepare("c", "", {}), Code::AlreadyExists) << "shared key space";
  EXPECT_CODE(snap_->view("v", "c", {}), Code::AlreadyExists);
  EXPECT_CODE(snap_->prepare("x", "missing", {}), Code::NotFound);
  EXPECT_CODE(snap_->view("x", "missing", {}), Code::NotFound);
  EXPECT_CODE(snap_->prepare("x", "a", {}), Code::InvalidArgument) << "active parent";
  EXPECT_CODE(snap_->view("x", "v", {}), Code::InvalidArgument) << "view parent";

  EXPECT_CODE(snap_->stat("missing"), Code::NotFound);
  EXPECT_CODE(snap_->usage("missing"), Code::NotFound);
  EXPECT_CODE(snap_->mounts("missing"), Code::NotFound);
  EXPECT_CODE(snap_->mounts("c"), Code::FailedPrecondition) << "committed has no mounts";
  EXPECT_CODE(snap_->remove("missing"), Code::NotFound);

  EXPECT_CODE(snap_->commit("n", "missing", {}), Code::NotFound);
  EXPECT_CODE(snap_->commit("c", "missing", {}), Code::NotFound) << "the key is looked up first";
  EXPECT_CODE(snap_->commit("n", "v", {}), Code::FailedPrecondition) << "a view";
  EXPECT_CODE(snap_->commit("n", "c", {}), Code::FailedPrecondition) << "a committed one";
  EXPECT_CODE(snap_->commit("c", "a", {}), Code::AlreadyExists);

  auto with_child = snap_->remove("c");
  EXPECT_CODE(with_child, Code::FailedPrecondition);
  if (!with_child.ok()) {
    EXPECT_NE(with_child.error().message().find("remove"), std::string::npos);
  }
  ASSERT_OK(snap_->remove("a"));
  EXPECT_CODE(snap_->remove("c"), Code::FailedPrecondition) << "the view is still a child";
  ASSERT_OK(snap_->remove("v"));
  layer("c2", "c", {});
  EXPECT_CODE(snap_->remove("c"), Code::FailedPrecondition) << "a committed child";

  Info i;
  i.name = "c2";
  EXPECT_CODE(snap_->update(i, {"parent"}), Code::InvalidArgument);
  i.name = "missing";
  EXPECT_CODE(snap_->update(i, {}), Code::NotFound);
  EXPECT_CODE(snap_->walk([](const Info&) { return Status(); }, {"kind=="}), Code::InvalidArgument);

  // Failed creations leave no directory behind.
  std::set<std::string> ids;
  auto walked = snap_->walk([&](const Info&) { return Status(); }, {});
  EXPECT_OK(walked);
  EXPECT_EQ(list(snapshots()).size(), 2u) << "only c and c2 own directories";

  ASSERT_OK(snap_->close());
  ASSERT_OK(snap_->close()) << "close twice";
  EXPECT_CODE(snap_->stat("c"), Code::FailedPrecondition);
}

TEST_F(OverlayTest, KeyAndNameReusableAfterRemove) {
  ASSERT_OK(snap_->prepare("reuse-1", "", {}));
  ASSERT_OK(snap_->remove("reuse-1"));
  ASSERT_OK(snap_->view("reuse-1", "", {}));
  ASSERT_OK(snap_->remove("reuse-1"));
  ASSERT_OK(snap_->prepare("reuse-1", "", {}));
  ASSERT_OK(snap_->commit("committed-1", "reuse-1", {}));
  ASSERT_OK(snap_->remove("committed-1"));
  ASSERT_OK(snap_->prepare("reuse-1", "", {}));
  ASSERT_OK(snap_->commit("committed-1", "reuse-1", {}));
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"4"})) << "ids are never reused";
}

// --- labels, walk, usage ------------------------------------------------------------------

TEST_F(OverlayTest, UpdateLabels) {
  SnapshotOptions o;
  o.labels = {{"l1", "v1"}, {"l2", "v2"}, {"l3", "v3"}};
  ASSERT_OK(snap_->prepare("a", "", o));
  auto before = snap_->stat("a");
  ASSERT_OK(before);

  Info in;
  in.name = "a";
  in.parent = "doesnotexist";
  in.labels = {{"l1", "updated"}, {"l4", "v4"}};
  auto r = snap_->update(in, {"labels.l1", "labels.l2"});
  ASSERT_OK(r);
  EXPECT_EQ(r->labels, (Labels{{"l1", "updated"}, {"l3", "v3"}}))
      << "l2 absent from the input is deleted; l4 is not among the paths";
  EXPECT_EQ(r->parent, "");
  EXPECT_EQ(r->created, before->created);
  EXPECT_GE(r->updated, before->updated);

  auto replaced = snap_->update(in, {});
  ASSERT_OK(replaced);
  EXPECT_EQ(replaced->labels, in.labels);
  in.labels = {{"only", "x"}};
  auto replaced2 = snap_->update(in, {"labels"});
  ASSERT_OK(replaced2);
  EXPECT_EQ(replaced2->labels, in.labels);
  auto stat = snap_->stat("a");
  ASSERT_OK(stat);
  EXPECT_EQ(stat->labels, in.labels);
  EXPECT_CODE(snap_->update(in, {"labels.only", "name"}), Code::InvalidArgument);
  auto unchanged = snap_->stat("a");
  ASSERT_OK(unchanged);
  EXPECT_EQ(unchanged->labels, in.labels) << "a refused update changes nothing";
}

TEST_F(OverlayTest, CommitLabelsReplacePrepareLabels) {
  SnapshotOptions p;
  p.labels = {{"from-prepare", "x"}};
  ASSERT_OK(snap_->prepare("a", "", p));
  SnapshotOptions c;
  c.labels = {{"from-commit", "y"}};
  ASSERT_OK(snap_->commit("n", "a", c));
  auto i = snap_->stat("n");
  ASSERT_OK(i);
  EXPECT_EQ(i->labels, c.labels);
  EXPECT_EQ(i->kind, Kind::Committed);
  EXPECT_EQ(i->created, i->updated);
  EXPECT_CODE(snap_->stat("a"), Code::NotFound);
}

TEST_F(OverlayTest, UpperdirLabel) {
  Config c;
  c.upperdir_label = true;
  reopen(c);
  ASSERT_OK(snap_->prepare("a", "", {}));
  auto i = snap_->stat("a");
  ASSERT_OK(i);
  EXPECT_EQ(i->labels.at(upperdir_label), root_ + "/snapshots/1/fs");
  Info in = *i;
  in.labels["x"] = "y";
  auto u = snap_->update(in, {});
  ASSERT_OK(u);
  EXPECT_EQ(u->labels.at(upperdir_label), root_ + "/snapshots/1/fs");
  std::vector<Info> seen;
  ASSERT_OK(snap_->walk(
      [&](const Info& w) {
        seen.push_back(w);
        return Status();
      },
      {}));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], *u) << "walk and update show the same Info";
  reopen();
  auto plain = snap_->stat("a");
  ASSERT_OK(plain);
  EXPECT_FALSE(plain->labels.contains(upperdir_label)) << "the label is never stored";
}

TEST_F(OverlayTest, WalkWithFilters) {
  auto with = [](Labels l) {
    SnapshotOptions o;
    o.labels = std::move(l);
    return o;
  };
  const Labels root{{"containerd.io/gc.root", "check-walk"}};
  ASSERT_OK(snap_->prepare("a-np", "", with(root)));
  ASSERT_OK(snap_->prepare("p-active", "", with(root)));
  ASSERT_OK(snap_->commit("p", "p-active", with(root)));
  ASSERT_OK(snap_->prepare("a", "p", with(root)));
  ASSERT_OK(snap_->view("v", "p", with(root)));
  auto l = [&](const char* v) {
    Labels x = root;
    x["l"] = v;
    return with(x);
  };
  ASSERT_OK(snap_->prepare("p-wl-active", "", l("1")));
  ASSERT_OK(snap_->commit("p-wl", "p-wl-active", l("1")));
  ASSERT_OK(snap_->prepare("a-wl", "p-wl", l("2")));
  ASSERT_OK(snap_->view("v-wl", "", l("3")));
  ASSERT_OK(snap_->prepare("a-np-wl", "", l("2")));

  auto names = [&](std::vector<std::string> filters) {
    std::vector<std::string> out;
    auto st = snap_->walk(
        [&](const Info& i) {
          out.push_back(i.name);
          return Status();
        },
        filters);
    EXPECT_TRUE(st.ok()) << st.error().to_string();
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names({"labels.\"containerd.io/gc.root\"==check-walk"}).size(), 8u);
  EXPECT_EQ(names({"kind==active"}), (V{"a", "a-np", "a-np-wl", "a-wl"}));
  EXPECT_EQ(names({"kind==view"}), (V{"v", "v-wl"}));
  EXPECT_EQ(names({"kind==committed"}), (V{"p", "p-wl"}));
  EXPECT_EQ(names({"name==p", "name==a-np-wl"}), (V{"a-np-wl", "p"}));
  EXPECT_EQ(names({"name==a-wl,labels.l"}), (V{"a-wl"}));
  EXPECT_EQ(names({"parent==p"}), (V{"a", "v"}));
  EXPECT_EQ(names({"parent!=\"\",labels.\"containerd.io/gc.root\"==check-walk"}),
            (V{"a", "a-wl", "v"}));
  EXPECT_EQ(names({"labels.l"}), (V{"a-np-wl", "a-wl", "p-wl", "v-wl"}));
  EXPECT_EQ(names({"labels.l==2"}), (V{"a-np-wl", "a-wl"}));

  // A callback error stops the walk and is returned; stat inside the callback works.
  int calls = 0;
  auto st = snap_->walk(
      [&](const Info& i) -> Status {
        auto s = snap_->stat(i.name);
        EXPECT_TRUE(s.ok() && *s == i);
        return ++calls == 2 ? Status(not_implemented("stop")) : Status();
      },
      {});
  EXPECT_CODE(st, Code::NotImplemented);
  EXPECT_EQ(calls, 2);
}

TEST_F(OverlayTest, Usage) {
  auto m = snap_->prepare("a", "", {});
  ASSERT_OK(m);
  auto empty = snap_->usage("a");
  ASSERT_OK(empty);
  EXPECT_EQ(empty->inodes, 1) << "the root directory counts";
  const std::string upper = root_ + "/snapshots/1/fs";
  ASSERT_TRUE(write_file(upper + "/big", std::string(64 * 1024, 'x')));
  ASSERT_TRUE(write_file(upper + "/d/small", "s"));
  ASSERT_EQ(::link((upper + "/big").c_str(), (upper + "/d/big-link").c_str()), 0);
  auto live = snap_->usage("a");
  ASSERT_OK(live);
  EXPECT_EQ(live->inodes, 4) << "root, big (counted once for two links), d, small";
  EXPECT_GE(live->size, 64 * 1024);
  EXPECT_LT(live->size, 2 * 64 * 1024) << "a hard link is not counted twice";

  ASSERT_OK(snap_->commit("c", "a", {}));
  auto frozen = snap_->usage("c");
  ASSERT_OK(frozen);
  EXPECT_EQ(*frozen, *live);
  ASSERT_TRUE(write_file(upper + "/later", "changed behind our back"));
  auto still = snap_->usage("c");
  ASSERT_OK(still);
  EXPECT_EQ(*still, *live) << "committed usage is the value recorded at commit";

  ASSERT_OK(snap_->prepare("child", "c", {}));
  auto child = snap_->usage("child");
  ASSERT_OK(child);
  EXPECT_EQ(child->inodes, 1) << "parents are excluded";
  ASSERT_OK(snap_->view("v", "c", {}));
  auto view = snap_->usage("v");
  ASSERT_OK(view);
  EXPECT_EQ(*view, Usage{});
}

// --- rebase -------------------------------------------------------------------------------

TEST_F(OverlayTest, RebaseOnCommit) {
  layer("P", "", {{"from-p", "p"}});
  layer("Q", "", {});
  ASSERT_OK(snap_->prepare("r", "", {}));
  ASSERT_TRUE(write_file(root_ + "/snapshots/3/fs/from-r", "r"));
  SnapshotOptions onto_p;
  onto_p.parent = "P";
  ASSERT_OK(snap_->commit("R", "r", onto_p));
  auto i = snap_->stat("R");
  ASSERT_OK(i);
  EXPECT_EQ(i->parent, "P");
  auto v = snap_->view("v", "R", {});
  ASSERT_OK(v);
  Mounted at(*v, mnt("v"));
  ASSERT_TRUE(at.ok()) << at.error();
  EXPECT_EQ(read_file(at.path() + "/from-p"), "p");
  EXPECT_EQ(read_file(at.path() + "/from-r"), "r");

  ASSERT_OK(snap_->prepare("same", "P", {}));
  ASSERT_OK(snap_->commit("SAME", "same", onto_p)) << "the same parent is fine";
  ASSERT_OK(snap_->prepare("keep", "P", {}));
  ASSERT_OK(snap_->commit("KEEP", "keep", {}));
  auto keep = snap_->stat("KEEP");
  ASSERT_OK(keep);
  EXPECT_EQ(keep->parent, "P") << "no parent in the options keeps the old one";
  ASSERT_OK(snap_->prepare("other", "P", {}));
  SnapshotOptions onto_q;
  onto_q.parent = "Q";
  EXPECT_CODE(snap_->commit("OTHER", "other", onto_q), Code::InvalidArgument);
  ASSERT_OK(snap_->prepare("orphan", "", {}));
  SnapshotOptions onto_missing;
  onto_missing.parent = "nope";
  EXPECT_CODE(snap_->commit("O", "orphan", onto_missing), Code::NotFound);
  SnapshotOptions onto_active;
  onto_active.parent = "other";
  EXPECT_CODE(snap_->commit("O", "orphan", onto_active), Code::FailedPrecondition);
}

// --- removal, cleanup, reconcile ----------------------------------------------------------

TEST_F(OverlayTest, RemoveAndCleanupLeaveNoOrphans) {
  layer("base", "", {{"f", "1"}});
  ASSERT_OK(snap_->prepare("a", "base", {}));
  ASSERT_OK(snap_->view("v", "base", {}));
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"1", "2", "3"}));
  ASSERT_OK(snap_->remove("a"));
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"1", "3"}))
      << "the directory is gone when remove returns";

  // What crashes leave behind: a half-made snapshot, an uncommitted removal's leftovers of a
  // snapshot that is gone anyway, a stray directory with a file.
  ASSERT_EQ(::mkdir((snapshots() + "/new-17").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((snapshots() + "/rm-2").c_str(), 0700), 0);
  ASSERT_TRUE(write_file(snapshots() + "/99/fs/junk", "j"));
  ASSERT_OK(snap_->cleanup());
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"1", "3"}));

  ASSERT_OK(snap_->remove("v"));
  ASSERT_OK(snap_->remove("base"));
  EXPECT_TRUE(list(snapshots()).empty());
}

// Issue 16: a layer one file 1,900 levels deep, under a 256-fd limit: usage at commit, remove,
// and cleanup of an rm-<id> left behind all work (they kept one fd per level and failed EMFILE,
// and cleanup then failed EBADF forever).
TEST_F(OverlayTest, DeepTreesUnderALowFdLimit) {
  constexpr int kDepth = 1900;
  ASSERT_OK(snap_->prepare("a", "", {}));
  ASSERT_TRUE(strata::testing::make_deep_tree(root_ + "/snapshots/1/fs", kDepth));
  strata::testing::FdLimit limit(256);
  ASSERT_TRUE(limit.ok());
  auto live = snap_->usage("a");
  ASSERT_OK(live);
  EXPECT_EQ(live->inodes, 1 + kDepth + 1) << "root, every level, the file";
  ASSERT_OK(snap_->commit("c", "a", {}));
  ASSERT_OK(snap_->remove("c"));
  EXPECT_TRUE(list(snapshots()).empty());

  ASSERT_EQ(::mkdir((snapshots() + "/rm-7").c_str(), 0700), 0);
  ASSERT_TRUE(strata::testing::make_deep_tree(snapshots() + "/rm-7", kDepth));
  ASSERT_OK(snap_->cleanup());
  EXPECT_TRUE(list(snapshots()).empty()) << "cleanup removes what it finds, at any depth";
}

TEST_F(OverlayTest, SyncRemoveAlsoSweepsOrphans) {
  Config c;
  c.sync_remove = true;
  reopen(c);
  ASSERT_OK(snap_->prepare("a", "", {}));
  ASSERT_OK(snap_->prepare("b", "", {}));
  ASSERT_TRUE(write_file(snapshots() + "/55/fs/junk", "j"));
  ASSERT_OK(snap_->remove("a"));
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"2"}));
}

TEST_F(OverlayTest, ReconcileAtOpen) {
  layer("keep", "", {{"f", "1"}});
  ASSERT_OK(snap_->prepare("lost", "", {}));
  ASSERT_OK(snap_->prepare("half-removed", "", {}));
  snap_.reset();
  // "lost" lost its directory; "half-removed" crashed between the rename and the commit of its
  // removal; 77 is an orphan with content.
  stdfs::remove_all(snapshots() + "/2");
  ASSERT_EQ(::rename((snapshots() + "/3").c_str(), (snapshots() + "/rm-3").c_str()), 0);
  ASSERT_TRUE(write_file(snapshots() + "/77/fs/x", "x"));

  Reconciled report;
  auto log = std::make_shared<strata::testing::RecordingLogger>();
  reopen({}, {}, &report, log);
  ASSERT_EQ(report.missing.size(), 1u);
  EXPECT_NE(report.missing[0].find("\"lost\""), std::string::npos) << report.missing[0];
  EXPECT_EQ(report.orphans_removed, (std::vector<std::string>{snapshots() + "/77"}));
  EXPECT_EQ(report.restored, (std::vector<std::string>{snapshots() + "/3"}));
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"1", "3"}));
  // Each repair is logged, through the plugin's logger (never stderr).
  EXPECT_TRUE(log->has(LogLevel::warn,
                       ": snapshot " + report.missing[0] + " has no entry under snapshots/"));
  EXPECT_TRUE(log->has(LogLevel::info, ": removed orphan " + snapshots() + "/77"));
  EXPECT_TRUE(log->has(LogLevel::info, ": restored " + snapshots() + "/3"));
  EXPECT_EQ(log->lines().size(), 3u);

  // The snapshotter works; the damaged snapshot can be removed.
  ASSERT_OK(snap_->stat("keep"));
  ASSERT_OK(snap_->mounts("half-removed"));
  ASSERT_OK(snap_->remove("lost"));
  EXPECT_TRUE(log->has(LogLevel::warn, "removing \"lost\", whose entry"));
  ASSERT_OK(snap_->remove("half-removed"));
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"1"}));
}

// --- 500 layers ---------------------------------------------------------------------------

TEST_F(OverlayTest, FiveHundredLayerChain) {
  // Overlay's own limit is 500 lowerdirs; the option string is far beyond one page.
  constexpr int kLayers = 500;
  std::string parent;
  for (int i = 0; i < kLayers; ++i) {
    const std::string key = "layer-" + std::to_string(i) + "-active";
    auto m = snap_->prepare(key, parent, {});
    ASSERT_TRUE(m) << i << ": " << m.error().to_string();
    // Writing straight into the upper directory keeps this test fast; the mounts are tested
    // on the whole chain below.
    std::string upper = (*m)[0].type == "bind" ? (*m)[0].source : "";
    for (const auto& o : (*m)[0].options)
      if (o.starts_with("upperdir="))
        upper = o.substr(9);
    ASSERT_FALSE(upper.empty());
    ASSERT_TRUE(write_file(upper + "/overwriteme", std::to_string(i)));
    ASSERT_TRUE(write_file(upper + "/addhere/file-" + std::to_string(i), "f"));
    const std::string name = "layer-" + std::to_string(i);
    ASSERT_OK(snap_->commit(name, key, {}));
    parent = name;
  }
  auto v = snap_->view("top-view", parent, {});
  ASSERT_OK(v);
  ASSERT_GT(v->front().options.front().size(), 4096u);
  {
    Mounted at(*v, mnt("top-view"));
    ASSERT_TRUE(at.ok()) << at.error();
    EXPECT_EQ(read_file(at.path() + "/overwriteme"), std::to_string(kLayers - 1));
    EXPECT_EQ(list(at.path() + "/addhere").size(), static_cast<std::size_t>(kLayers));
    EXPECT_EQ(read_file(at.path() + "/addhere/file-0"), "f") << "the bottom layer shows";
  }
  // An active on top of the 499 upper layers: 499 lowerdirs plus the topmost as the 500th.
  auto a = snap_->prepare("top-active", "layer-498", {});
  ASSERT_OK(a);
  Mounted at(*a, mnt("top-active"));
  ASSERT_TRUE(at.ok()) << at.error();
  EXPECT_EQ(read_file(at.path() + "/overwriteme"), std::to_string(kLayers - 2));
  ASSERT_TRUE(write_file(at.path() + "/written", "w"));
  at.release();
  auto u = snap_->usage("top-active");
  ASSERT_OK(u);
  EXPECT_EQ(u->inodes, 2) << "root and the written file";
}

// --- uid/gid mapping ----------------------------------------------------------------------

SnapshotOptions mapped(const std::string& uid, const std::string& gid) {
  SnapshotOptions o;
  o.labels[uidmapping_label] = uid;
  o.labels[gidmapping_label] = gid;
  return o;
}

TEST_F(OverlayTest, IdmapWithoutSupportOrSlowChownIsFailedPrecondition) {
  Features f = features_;
  f.idmap = false;
  reopen({}, f);
  layer("base", "", {});
  auto r = snap_->prepare("a", "base", mapped("0:1000:65536", "0:1000:65536"));
  EXPECT_CODE(r, Code::FailedPrecondition);
  if (!r) {
    EXPECT_NE(r.error().message().find("slow_chown = true"), std::string::npos);
  }
  EXPECT_CODE(snap_->stat("a"), Code::NotFound) << "nothing was created";
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"1"}));
}

TEST_F(OverlayTest, InvalidMappingsFailAndLeakNothing) {
  layer("base", "", {});
  for (const auto& [u, g] : std::vector<std::pair<std::string, std::string>>{
           {"-1:1000:10", "0:1000:10"}, {"1:1000:10", "0:1000:10"}, {"0:1000", "0:1000:1"}}) {
    EXPECT_CODE(snap_->prepare("a", "base", mapped(u, g)), Code::InvalidArgument) << u;
  }
  SnapshotOptions only_uid;
  only_uid.labels[uidmapping_label] = "0:1000:10";
  EXPECT_CODE(snap_->prepare("a", "base", only_uid), Code::InvalidArgument);
  EXPECT_EQ(list(snapshots()), (std::vector<std::string>{"1"}));
}

TEST_F(OverlayTest, SlowChownCopiesWithShiftedOwners) {
  Features f = features_;
  f.idmap = false;
  Config c;
  c.slow_chown = true;
  reopen(c, f);
  layer("base", "", {{"etc/passwd", "root"}, {"home/u/file", "u"}, {"home/u/gone", "g"}});
  ASSERT_EQ(::chown((root_ + "/snapshots/1/fs/home/u/file").c_str(), 5, 6), 0);
  ASSERT_EQ(::setxattr((root_ + "/snapshots/1/fs/home/u/file").c_str(), "user.note", "n", 1, 0), 0);
  ASSERT_EQ(::link((root_ + "/snapshots/1/fs/etc/passwd").c_str(),
                   (root_ + "/snapshots/1/fs/etc/passwd-link").c_str()),
            0);
  layer("top", "base", {{"top", "t"}}, {"home/u/gone"});
  auto m = snap_->prepare("a", "top", mapped("0:100000:65536", "0:200000:65536"));
  ASSERT_OK(m);
  Mounted at(*m, mnt("a"));
  ASSERT_TRUE(at.ok()) << at.error();
  struct stat st {};
  ASSERT_EQ(::stat(at.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  EXPECT_EQ(st.st_gid, 200000u);
  ASSERT_EQ(::stat((at.path() + "/home/u/file").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100005u);
  EXPECT_EQ(st.st_gid, 200006u);
  char note[8] = {};
  EXPECT_EQ(::getxattr((at.path() + "/home/u/file").c_str(), "user.note", note, sizeof note), 1)
      << "xattrs are copied";
  EXPECT_EQ(read_file(at.path() + "/top"), "t");
  EXPECT_FALSE(exists(at.path() + "/home/u/gone")) << "whiteouts of the parents still apply";
  struct stat a {
  }, b{};
  ASSERT_EQ(::stat((at.path() + "/etc/passwd").c_str(), &a), 0);
  ASSERT_EQ(::stat((at.path() + "/etc/passwd-link").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino) << "hard links stay linked";
  auto v = snap_->view("v", "top", mapped("0:100000:65536", "0:200000:65536"));
  ASSERT_OK(v);
  EXPECT_EQ(v->front().type, "bind") << "a shifted view is its own complete copy";
}

TEST_F(OverlayTest, IdmappedMounts) {
  if (!features_.idmap)
    GTEST_SKIP() << "idmapped overlay mounts unsupported here";
  layer("base", "", {{"f", "1"}});
  auto m = snap_->prepare("a", "base", mapped("0:100000:65536", "0:200000:65536"));
  ASSERT_OK(m);
  EXPECT_EQ(m->front().options[0], "uidmap=0:100000:65536");
  EXPECT_EQ(m->front().options[1], "gidmap=0:200000:65536");
  Mounted at(*m, mnt("a"));
  ASSERT_TRUE(at.ok()) << at.error();
  struct stat st {};
  ASSERT_EQ(::stat((at.path() + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u) << "lower files seen through the idmap";
  EXPECT_EQ(st.st_gid, 200000u);
  ASSERT_EQ(::stat(at.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u) << "the upper root belongs to the mapped root";

  auto bind = snap_->prepare("b", "", mapped("0:100000:65536", "0:200000:65536"));
  ASSERT_OK(bind);
  EXPECT_EQ(
      bind->front().options,
      (std::vector<std::string>{"uidmap=0:100000:65536", "gidmap=0:200000:65536", "rw", "rbind"}));
  Mounted bat(*bind, mnt("b"));
  ASSERT_TRUE(bat.ok()) << bat.error();
  ASSERT_EQ(::stat(bat.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
}

// --- config, probe and init ---------------------------------------------------------------

TEST(OverlayConfig, StrictKeysAndTypes) {
  json::object ok{{"mount_options", json::array{"volatile"}},
                  {"upperdir_label", true},
                  {"sync_remove", false},
                  {"slow_chown", true}};
  auto c = decode(ok);
  ASSERT_OK(c);
  EXPECT_EQ(c->mount_options, (std::vector<std::string>{"volatile"}));
  EXPECT_TRUE(c->upperdir_label);
  EXPECT_FALSE(c->sync_remove);
  EXPECT_TRUE(c->slow_chown);

  auto unknown = decode(json::object{{"root_path", "/x"}});
  EXPECT_CODE(unknown, Code::InvalidArgument);
  if (!unknown) {
    EXPECT_NE(unknown.error().message().find("root_path"), std::string::npos);
  }
  EXPECT_CODE(decode(json::object{{"slow_chown", "yes"}}), Code::InvalidArgument);
  EXPECT_CODE(decode(json::object{{"mount_options", json::array{1}}}), Code::InvalidArgument);
  EXPECT_CODE(decode(json::object{{"mount_options", json::array{"upperdir=/x"}}}),
              Code::InvalidArgument);
}

TEST_F(OverlayTest, InitFillsMetaAndReportsMissingSnapshots) {
  const std::string root = scratch_->path() + "/plugin-root/strata.snapshotter.v1.overlayfs";
  {
    FakeContext ic(root, json::object{});
    InitResult r = init(ic);
    ASSERT_TRUE(r.ok()) << (r.failed() ? r.error().to_string() : r.skip_reason());
    EXPECT_EQ(ic.meta().exports.at("root"), root);
    const auto& caps = ic.meta().capabilities;
    EXPECT_NE(std::find(caps.begin(), caps.end(), "rebase"), caps.end());
    EXPECT_EQ(std::find(caps.begin(), caps.end(), "remap-ids") != caps.end(), features_.idmap);
    auto s = std::dynamic_pointer_cast<Snapshotter>(r.instance());
    ASSERT_TRUE(s);
    ASSERT_OK(s->prepare("k", "", {}));
    struct stat st {};
    ASSERT_EQ(::stat(root.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
  }
  stdfs::remove_all(root + "/snapshots/1");
  FakeContext ic(root, json::object{});
  InitResult r = init(ic);
  ASSERT_TRUE(r.ok()) << (r.failed() ? r.error().to_string() : r.skip_reason());
  ASSERT_TRUE(ic.meta().exports.contains("missing_snapshots"));
  EXPECT_NE(ic.meta().exports.at("missing_snapshots").find("\"k\""), std::string::npos);

  FakeContext bad(root, json::object{{"bogus", 1}});
  InitResult e = init(bad);
  ASSERT_TRUE(e.failed());
  EXPECT_NE(e.error().message().find("bogus"), std::string::npos);
}

TEST_F(OverlayTest, ProbeRefusesAnOverlayRoot) {
  // A root inside an overlay mount cannot hold an upperdir: the plugin must skip, not fail later.
  const std::string base = scratch_->dir("ovl");
  for (const char* d : {"lower", "upper", "work", "merged"})
    scratch_->dir("ovl/" + std::string(d));
  Mounted at({Mount{"overlay",
                    "overlay",
                    "",
                    {"lowerdir=" + base + "/lower", "upperdir=" + base + "/upper",
                     "workdir=" + base + "/work", "index=off"}}},
             base + "/merged");
  ASSERT_TRUE(at.ok()) << at.error();
  auto r = probe(at.path());
  ASSERT_OK(r);
  ASSERT_TRUE(r->unsupported.has_value()) << "overlay upper on overlayfs probed as working";
  EXPECT_NE(r->unsupported->find("overlayfs"), std::string::npos) << *r->unsupported;
  EXPECT_TRUE(list(at.path()).empty()) << "the probe leaves nothing behind";

  FakeContext ic(at.path() + "/strata.snapshotter.v1.overlayfs", json::object{});
  InitResult skipped = init(ic);
  ASSERT_TRUE(skipped.skipped()) << (skipped.failed() ? skipped.error().to_string() : "ok");
  EXPECT_NE(skipped.skip_reason().find("overlayfs"), std::string::npos) << skipped.skip_reason();
}

TEST_F(OverlayTest, ProbeRemovesStaleProbeDirectories) {
  const std::string root = scratch_->dir("r");
  const std::string stale = scratch_->dir("r/.overlay-probe-0123456789abcdef/merged");
  scratch_->dir("src");
  ASSERT_TRUE(write_file(scratch_->path() + "/src/keep", "k"));
  // Mounted directly: the probe takes it down (the scratch dir would otherwise).
  ASSERT_OK(mount::mount_one(Mount{"bind", scratch_->path() + "/src", "", {"rbind"}}, stale));
  auto r = probe(root);
  ASSERT_OK(r);
  EXPECT_TRUE(list(root).empty()) << "a crashed probe's directory (still mounted) is removed";
  EXPECT_EQ(read_file(scratch_->path() + "/src/keep"), "k") << "without deleting through the mount";
}

TEST_F(OverlayTest, ConcurrentCreateCommitRemove) {
  layer("base", "", {{"f", "1"}});
  constexpr int kThreads = 4, kRounds = 15;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string k = "t" + std::to_string(t) + "-" + std::to_string(i);
        bool ok = snap_->prepare(k, "base", {}).ok() && snap_->commit(k + "-c", k, {}).ok() &&
                  snap_->view(k + "-v", k + "-c", {}).ok() && snap_->remove(k + "-v").ok() &&
                  (i % 2 == 0 || snap_->remove(k + "-c").ok());
        if (!ok)
          ++failures;
      }
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_OK(snap_->cleanup());
  std::size_t records = 0;
  ASSERT_OK(snap_->walk(
      [&](const Info&) {
        ++records;
        return Status();
      },
      {}));
  EXPECT_EQ(records, 1u + kThreads * ((kRounds + 1) / 2));
  EXPECT_EQ(list(snapshots()).size(), records) << "one directory per snapshot, no orphans";
}

} // namespace
} // namespace strata::overlay::test
