// The local content store (plugins/content) through its ContentStore interface, on a fresh
// temporary root per test.
#include "filter_cases.hpp"
#include "label_cases.hpp"
#include "store.hpp"

#include <strata/contentio/read_all.hpp>
#include <strata/digest/sha256.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <sys/stat.h>
#include <thread>
#include <vector>

namespace {

namespace fs = std::filesystem;
using strata::Code;
using strata::Descriptor;

std::string pattern(std::size_t n, unsigned seed = 1) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 131 + seed * 17 + (i >> 9)) & 0xff);
  return s;
}

std::span<const std::byte> bytes(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

Descriptor desc_of(const std::string& data) {
  return {"application/octet-stream",
          strata::digest::sha256_of(data),
          static_cast<std::int64_t>(data.size()),
          {}};
}

std::size_t entries(const fs::path& dir) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir))
    ++n;
  return n;
}

class StoreTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/strata-content-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    tmp_ = tmpl;
    root_ = tmp_ / "root" / "strata.content.v1.content";
    auto s = strata::content::LocalStore::open(root_.string());
    ASSERT_TRUE(s) << s.error().to_string();
    store_ = *s;
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    fs::remove_all(tmp_, ec);
  }

  // Writes `data` under `ref` in chunks and commits it against its own digest and size.
  strata::Status put(const std::string& ref, const std::string& data,
                     const strata::Labels& labels = {}) {
    auto w = store_->writer(ref, desc_of(data));
    if (!w)
      return std::move(w).error();
    for (std::size_t off = 0; off < data.size(); off += 100'000)
      if (auto st = (*w)->write(bytes(data.substr(off, 100'000))); !st)
        return st;
    return (*w)->commit(static_cast<std::int64_t>(data.size()), strata::digest::sha256_of(data),
                        labels);
  }

  std::string read_back(const std::string& digest) {
    auto r = store_->reader(digest);
    EXPECT_TRUE(r) << r.error().to_string();
    if (!r)
      return {};
    auto all = strata::contentio::read_all(**r, 64 << 20, digest);
    EXPECT_TRUE(all) << all.error().to_string();
    return all ? *all : std::string();
  }

  fs::path blob_path(const std::string& digest) {
    return root_ / "blobs" / "sha256" / digest.substr(7);
  }

  fs::path tmp_;
  fs::path root_;
  std::shared_ptr<strata::content::LocalStore> store_;
};

TEST_F(StoreTest, CreatesItsDirectoriesPrivate) {
  for (auto sub : {"", "blobs/sha256", "labels", "ingest"}) {
    struct stat st {};
    ASSERT_EQ(::stat((root_ / sub).c_str(), &st), 0) << sub;
    EXPECT_EQ(st.st_mode & 07777, 0700u) << sub;
  }
}

TEST_F(StoreTest, RoundTripOfSmallEmptyAndMultiMiBBlobs) {
  for (const std::string& data :
       {std::string("hello, strata\n"), std::string(), pattern(5 * 1024 * 1024 + 123)}) {
    const std::string digest = strata::digest::sha256_of(data);
    ASSERT_TRUE(put("ref-" + std::to_string(data.size()), data));
    auto info = store_->info(digest);
    ASSERT_TRUE(info) << info.error().to_string();
    EXPECT_EQ(info->digest, digest);
    EXPECT_EQ(info->size, static_cast<std::int64_t>(data.size()));
    EXPECT_NE(info->created, strata::Timestamp{});
    EXPECT_EQ(read_back(digest), data);
  }
  EXPECT_EQ(entries(root_ / "ingest"), 0u);
}

TEST_F(StoreTest, DurableLayoutReadOnlyBlobAtItsDigest) {
  const std::string data = pattern(4096);
  ASSERT_TRUE(put("layout", data));
  const fs::path p = blob_path(strata::digest::sha256_of(data));
  struct stat st {};
  ASSERT_EQ(::stat(p.c_str(), &st), 0) << p;
  EXPECT_TRUE(S_ISREG(st.st_mode));
  // 0444, documented in layout.hpp: committed blobs are immutable.
  EXPECT_EQ(st.st_mode & 07777, 0444u);
  EXPECT_EQ(st.st_size, 4096);
}

TEST_F(StoreTest, WriterExpectationsAreVerifiedAtCommit) {
  const std::string data = pattern(1000);
  // Expectations given to writer() only; commit passes none.
  auto w = store_->writer("expect", desc_of(data));
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(bytes(data)));
  EXPECT_EQ((*w)->offset(), 1000);
  ASSERT_TRUE((*w)->commit(0, "", {}));
  EXPECT_TRUE(store_->info(strata::digest::sha256_of(data)));
  // A committed writer takes no more bytes.
  auto again = (*w)->write(bytes(data));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), Code::FailedPrecondition);
}

TEST_F(StoreTest, DigestMismatchCommitsNothingAndLeavesNoIngest) {
  const std::string data = pattern(2000);
  auto w = store_->writer("bad-digest", {});
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(bytes(data)));
  auto st = (*w)->commit(2000, strata::digest::sha256_of("something else"), {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::FailedPrecondition);
  EXPECT_NE(st.error().message().find("digest mismatch"), std::string::npos);
  EXPECT_EQ(entries(root_ / "blobs" / "sha256"), 0u);
  EXPECT_EQ(entries(root_ / "ingest"), 0u);
  EXPECT_EQ(store_->info(strata::digest::sha256_of(data)).error().code(), Code::NotFound);
}

TEST_F(StoreTest, SizeMismatchCommitsNothingAndLeavesNoIngest) {
  const std::string data = pattern(2000);
  auto w = store_->writer("bad-size", {});
  ASSERT_TRUE(w);
  ASSERT_TRUE((*w)->write(bytes(data)));
  auto st = (*w)->commit(1999, strata::digest::sha256_of(data), {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::FailedPrecondition);
  EXPECT_NE(st.error().message().find("size mismatch"), std::string::npos);
  EXPECT_EQ(entries(root_ / "blobs" / "sha256"), 0u);
  EXPECT_EQ(entries(root_ / "ingest"), 0u);
  EXPECT_EQ(entries(root_ / "labels"), 0u);
}

TEST_F(StoreTest, AbandonedWriterLeavesNoIngest) {
  {
    auto w = store_->writer("abandoned", {});
    ASSERT_TRUE(w);
    ASSERT_TRUE((*w)->write(bytes(pattern(10))));
    EXPECT_EQ(entries(root_ / "ingest"), 1u);
  }
  EXPECT_EQ(entries(root_ / "ingest"), 0u);
}

TEST_F(StoreTest, CommittingExistingContentIsAlreadyExists) {
  const std::string data = pattern(300);
  ASSERT_TRUE(put("first", data));
  auto st = put("second", data);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::AlreadyExists);
  EXPECT_EQ(read_back(strata::digest::sha256_of(data)), data);
  EXPECT_EQ(entries(root_ / "ingest"), 0u);
}

TEST_F(StoreTest, ConcurrentIngestsOfTheSameContentAllSucceed) {
  const std::string data = pattern(3 * 1024 * 1024, 7);
  const std::string digest = strata::digest::sha256_of(data);
  std::atomic<int> created{0}, existed{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&, i] {
      auto st = put("same-content-" + std::to_string(i), data);
      if (st)
        ++created;
      else if (st.error().code() == Code::AlreadyExists)
        ++existed;
      else {
        ++failed;
        ADD_FAILURE() << st.error().to_string();
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(created.load() + existed.load(), 8);
  EXPECT_EQ(read_back(digest), data);
  EXPECT_EQ(entries(root_ / "blobs" / "sha256"), 1u);
  EXPECT_EQ(entries(root_ / "ingest"), 0u);
}

TEST_F(StoreTest, SameRefTwiceIsUnavailableUntilTheFirstEnds) {
  auto first = store_->writer("busy", {});
  ASSERT_TRUE(first);
  auto second = store_->writer("busy", {});
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), Code::Unavailable);
  EXPECT_NE(second.error().message().find("ref \"busy\" is locked"), std::string::npos)
      << second.error().message();
  // Other refs are not affected.
  EXPECT_TRUE(store_->writer("other", {}));
  ASSERT_TRUE((*first)->write(bytes(std::string("x"))));
  ASSERT_TRUE((*first)->commit(1, "", {}));
  first->reset();
  EXPECT_TRUE(store_->writer("busy", {}));
}

TEST_F(StoreTest, SameRefFromManyThreadsOnlyOneWriterAtATime) {
  std::atomic<int> holders{0}, max_holders{0}, refused{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int j = 0; j < 20; ++j) {
        auto w = store_->writer("contended", {});
        if (!w) {
          EXPECT_EQ(w.error().code(), Code::Unavailable) << w.error().to_string();
          ++refused;
          continue;
        }
        int now = ++holders;
        int seen = max_holders.load();
        while (now > seen && !max_holders.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --holders;
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(max_holders.load(), 1);
  EXPECT_EQ(entries(root_ / "ingest"), 0u);
}

TEST_F(StoreTest, RemoveThenInfoIsNotFound) {
  const std::string data = pattern(64);
  const std::string digest = strata::digest::sha256_of(data);
  ASSERT_TRUE(put("rm", data, {{"a", "1"}}));
  ASSERT_TRUE(store_->remove(digest));
  EXPECT_EQ(store_->info(digest).error().code(), Code::NotFound);
  EXPECT_EQ(store_->reader(digest).error().code(), Code::NotFound);
  EXPECT_EQ(store_->remove(digest).error().code(), Code::NotFound);
  EXPECT_EQ(entries(root_ / "labels"), 0u);
  // Committing it again starts with no labels: the old ones went with the blob.
  ASSERT_TRUE(put("rm-again", data));
  auto info = store_->info(digest);
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->labels.empty());
}

TEST_F(StoreTest, BadDigestsAreInvalidArgument) {
  for (std::string d : {"", "sha256:abc", "md5:0123", "sha256:../../etc/passwd"}) {
    EXPECT_EQ(store_->info(d).error().code(), Code::InvalidArgument) << d;
    EXPECT_EQ(store_->reader(d).error().code(), Code::InvalidArgument) << d;
    EXPECT_EQ(store_->remove(d).error().code(), Code::InvalidArgument) << d;
  }
  EXPECT_EQ(store_->writer("", {}).error().code(), Code::InvalidArgument);
  EXPECT_EQ(store_->writer("r", {"", "sha256:nope", 0, {}}).error().code(), Code::InvalidArgument);
}

TEST_F(StoreTest, RefsWithSlashesAndDotsStayInsideIngest) {
  const std::string data = pattern(10);
  ASSERT_TRUE(put("../../escape/ref with spaces", data));
  EXPECT_FALSE(fs::exists(tmp_ / "escape"));
  EXPECT_TRUE(store_->info(strata::digest::sha256_of(data)));
}

TEST_F(StoreTest, WalkWithFilters) {
  const std::string a = pattern(10, 1), b = pattern(20, 2), c = pattern(30, 3);
  ASSERT_TRUE(put("a", a, {{"kind", "layer"}, {"containerd.io/gc.root", "x"}}));
  ASSERT_TRUE(put("b", b, {{"kind", "config"}}));
  ASSERT_TRUE(put("c", c));
  auto walk = [&](std::vector<std::string> filters) {
    std::vector<std::string> seen;
    auto st = store_->walk(
        [&](const strata::ContentInfo& i) {
          seen.push_back(i.digest);
          return strata::Status{};
        },
        filters);
    EXPECT_TRUE(st) << st.error().to_string();
    std::sort(seen.begin(), seen.end());
    return seen;
  };
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  const std::string da = strata::digest::sha256_of(a), db = strata::digest::sha256_of(b),
                    dc = strata::digest::sha256_of(c);
  EXPECT_EQ(walk({}), sorted({da, db, dc}));
  EXPECT_EQ(walk({"digest==" + db}), std::vector<std::string>{db});
  EXPECT_EQ(walk({"labels.kind==layer"}), std::vector<std::string>{da});
  EXPECT_EQ(walk({"labels.kind"}), sorted({da, db}));
  EXPECT_EQ(walk({"labels.containerd.io/gc.root"}), std::vector<std::string>{da});
  EXPECT_EQ(walk({"labels.kind==config", "digest==" + dc}), sorted({db, dc}));
  EXPECT_TRUE(walk({"labels.kind==nothing"}).empty());

  // The SDK's filters: every operator, and only the content fields (the table below has more).
  EXPECT_EQ(walk({"labels.kind!=layer"}), sorted({db, dc}));
  EXPECT_EQ(walk({"labels.kind~=^lay"}), std::vector<std::string>{da});
  EXPECT_EQ(walk({"digest!=" + da + ",labels.kind"}), std::vector<std::string>{db});
  EXPECT_TRUE(walk({"digest==sha256:short"}).empty());
  EXPECT_EQ(walk({""}), sorted({da, db, dc}));
  for (std::string bad : {"size==10", "labels.", "labels.kind=layer", "name==x", "mediatype==x"}) {
    auto st = store_->walk([](const strata::ContentInfo&) { return strata::Status{}; }, {bad});
    ASSERT_FALSE(st) << bad;
    EXPECT_EQ(st.error().code(), Code::InvalidArgument) << bad;
  }

  // An error from the callback stops the walk and is returned.
  int calls = 0;
  auto st = store_->walk(
      [&](const strata::ContentInfo&) -> strata::Status {
        ++calls;
        return strata::Error(Code::Cancelled, "enough");
      },
      {});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::Cancelled);
  EXPECT_EQ(calls, 1);
}

TEST_F(StoreTest, LabelUpdateSemantics) {
  const std::string data = pattern(50);
  const std::string digest = strata::digest::sha256_of(data);
  ASSERT_TRUE(put("labels", data, {{"a", "1"}, {"b", "2"}, {"empty", ""}}));
  auto info = store_->info(digest);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->labels, (strata::Labels{{"a", "1"}, {"b", "2"}}));

  strata::ContentInfo change;
  change.digest = digest;
  change.labels = {{"b", "20"}, {"c", "3"}};
  // labels.<k>: only that key; a key absent from info.labels is deleted.
  auto r = store_->update(change, {"labels.b", "labels.a"});
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->labels, (strata::Labels{{"b", "20"}}));
  EXPECT_GE(r->updated, r->created);
  // "labels": replace them all; empty values are dropped.
  change.labels = {{"x", "1"}, {"y", ""}};
  r = store_->update(change, {"labels"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels, (strata::Labels{{"x", "1"}}));
  // No field paths: the same as "labels".
  change.labels = {{"z", "9"}};
  r = store_->update(change, {});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->labels, (strata::Labels{{"z", "9"}}));
  // Persisted: a fresh store on the same root sees them.
  strata::content::LocalStore reopened(root_.string());
  auto again = reopened.info(digest);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->labels, (strata::Labels{{"z", "9"}}));
  EXPECT_TRUE(fs::exists(root_ / "labels" / (digest.substr(7) + ".json")));

  // Bad paths change nothing.
  change.labels = {{"q", "1"}};
  for (std::string bad : {"size", "labels.", "digest", "labelsx"}) {
    auto e = store_->update(change, {"labels.q", bad});
    ASSERT_FALSE(e) << bad;
    EXPECT_EQ(e.error().code(), Code::InvalidArgument) << bad;
  }
  EXPECT_EQ(store_->info(digest)->labels, (strata::Labels{{"z", "9"}}));

  change.digest = strata::digest::sha256_of("absent");
  EXPECT_EQ(store_->update(change, {}).error().code(), Code::NotFound);
}

// The shared filter table (tests/sdk/filter_cases.hpp) through ContentStore::walk: each object is
// a blob of its own, named back from its digest.
TEST_F(StoreTest, WalkFilterTable) {
  std::map<std::string, std::string> name_of;
  for (const auto& o : strata::test::filter_objects()) {
    const std::string data = std::string("filter object ") + o.name;
    ASSERT_TRUE(put(o.name, data, o.labels));
    name_of[strata::digest::sha256_of(data)] = o.name;
  }
  strata::test::check_filter_table(
      [&](const std::vector<std::string>& filters, std::vector<std::string>& got) {
        return store_->walk(
            [&](const strata::ContentInfo& i) {
              got.push_back(name_of.at(i.digest));
              return strata::Status{};
            },
            filters);
      });
}

// The shared label-update table (tests/sdk/label_cases.hpp) through ContentStore::update.
TEST_F(StoreTest, LabelUpdateTable) {
  unsigned n = 0;
  for (const auto& c : strata::test::label_cases()) {
    SCOPED_TRACE(c.name);
    const std::string data = pattern(64, 100 + n++);
    const std::string digest = strata::digest::sha256_of(data);
    ASSERT_TRUE(put("table-" + std::to_string(n), data, c.current));
    strata::ContentInfo change;
    change.digest = digest;
    change.labels = c.requested;
    auto r = store_->update(change, c.paths);
    auto after = store_->info(digest);
    ASSERT_TRUE(after) << after.error().to_string();
    if (c.want) {
      ASSERT_TRUE(r) << r.error().to_string();
      EXPECT_EQ(r->labels, *c.want);
      EXPECT_EQ(after->labels, *c.want);
      continue;
    }
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Code::InvalidArgument);
    EXPECT_NE(r.error().message().find("\"" + c.bad_path + "\""), std::string::npos)
        << r.error().message();
    EXPECT_EQ(after->labels, c.current);
  }
}

TEST_F(StoreTest, CorruptSidecarIsDataLoss) {
  const std::string data = pattern(50);
  const std::string digest = strata::digest::sha256_of(data);
  ASSERT_TRUE(put("corrupt", data, {{"a", "1"}}));
  {
    std::FILE* f = std::fopen((root_ / "labels" / (digest.substr(7) + ".json")).c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("{not json", f);
    std::fclose(f);
  }
  auto info = store_->info(digest);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code(), Code::DataLoss);
}

TEST_F(StoreTest, ReaderBoundsAndEof) {
  const std::string data = pattern(1000);
  const std::string digest = strata::digest::sha256_of(data);
  ASSERT_TRUE(put("reader", data));
  auto r = store_->reader(digest);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->size(), 1000);
  std::vector<std::byte> buf(300);
  auto n = (*r)->read_at(buf, 900);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 100u); // only what is left
  EXPECT_EQ(std::memcmp(buf.data(), data.data() + 900, 100), 0);
  n = (*r)->read_at(buf, 1000);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 0u); // end of blob
  n = (*r)->read_at(buf, 1001);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), Code::OutOfRange);
  n = (*r)->read_at(buf, -1);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), Code::OutOfRange);
  // An open reader keeps working after the blob is removed (the file stays open).
  ASSERT_TRUE(store_->remove(digest));
  n = (*r)->read_at(buf, 0);
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 300u);
}

TEST_F(StoreTest, WriterOutlivesTheStore) {
  auto w = store_->writer("orphan", {});
  ASSERT_TRUE(w);
  store_.reset();
  ASSERT_TRUE((*w)->write(bytes(std::string("late"))));
  ASSERT_TRUE((*w)->commit(4, strata::digest::sha256_of("late"), {}));
  EXPECT_TRUE(fs::exists(root_ / "blobs" / "sha256" / strata::digest::sha256_of("late").substr(7)));
}

} // namespace
