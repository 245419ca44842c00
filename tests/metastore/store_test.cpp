// The database file: creation, WAL and durability across reopen and crashes, refusing files it
// cannot use, concurrent writers, long parent chains and large populations.

#include "support.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

namespace strata::metastore::test {
namespace {

/// Runs SQL on the file with a plain SQLite connection; returns the first column of the first
/// row (or "").
std::string raw_sql(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    ADD_FAILURE() << "open " << path << ": " << sqlite3_errmsg(db);
  } else {
    sqlite3_stmt* stmt = nullptr;
    const char* tail = sql.c_str();
    while (*tail != '\0') {
      if (sqlite3_prepare_v2(db, tail, -1, &stmt, &tail) != SQLITE_OK) {
        ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
        break;
      }
      if (stmt == nullptr)
        break;
      while (sqlite3_step(stmt) == SQLITE_ROW)
        if (out.empty() && sqlite3_column_count(stmt) > 0 && sqlite3_column_text(stmt, 0))
          out += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      sqlite3_finalize(stmt);
    }
  }
  sqlite3_close(db);
  return out;
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
}

TEST_F(StoreTest, FileIsPrivateAndInWalMode) {
  struct stat st {};
  ASSERT_EQ(::stat(db_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  store_.reset();
  EXPECT_EQ(raw_sql(db_path(), "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(raw_sql(db_path(), "PRAGMA user_version"), "1");
}

TEST_F(StoreTest, CommittedTransactionsSurviveReopenAndRolledBackOnesLeaveNothing) {
  layer("base", "", {{"k", "v"}});
  ASSERT_OK(create(Kind::Active, "work", "base"));
  {
    auto t = tx();
    ASSERT_OK(t.create_snapshot(Kind::Active, "explicit", ""));
    ASSERT_OK(t.remove("work"));
    t.rollback();
  }
  {
    auto t = tx();
    ASSERT_OK(t.create_snapshot(Kind::Active, "implicit", ""));
    ASSERT_OK(t.commit_active("work", "work-c", {}));
  } // destroyed without commit
  reopen();
  auto base = info("base");
  ASSERT_OK(base);
  EXPECT_EQ(base->info.labels, (Labels{{"k", "v"}}));
  EXPECT_EQ(info("work")->info.kind, Kind::Active);
  EXPECT_CODE(info("explicit"), Code::NotFound);
  EXPECT_CODE(info("implicit"), Code::NotFound);
  EXPECT_CODE(info("work-c"), Code::NotFound);
}

// A process that dies right after commit() returned (no close, no checkpoint) keeps its commit;
// one that dies inside a transaction leaves nothing.
TEST_F(StoreTest, CommitSurvivesProcessDeath) {
  store_.reset();
  auto child = [&](bool do_commit) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      auto s = MetaStore::open(db_path());
      if (!s.ok())
        ::_exit(2);
      auto t = s->begin(true);
      if (!t.ok() || !t->create_snapshot(Kind::Active, do_commit ? "kept" : "lost", "").ok())
        ::_exit(3);
      if (do_commit && !t->commit().ok())
        ::_exit(4);
      ::_exit(0); // no destructors: the connection is never closed
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    ASSERT_EQ(WEXITSTATUS(status), 0);
  };
  child(true);
  child(false);
  reopen();
  ASSERT_OK(info("kept"));
  EXPECT_CODE(info("lost"), Code::NotFound);
}

TEST(Open, RefusesUnusablePaths) {
  TempDir dir;
  auto empty = MetaStore::open("");
  EXPECT_CODE(empty, Code::InvalidArgument);

  const std::string missing_dir = dir.path() + "/no/such/dir/metadata.db";
  auto m = MetaStore::open(missing_dir);
  EXPECT_CODE(m, Code::NotFound);
  expect_mentions(m, missing_dir);

  auto d = MetaStore::open(dir.path());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message().find(dir.path()), std::string::npos) << d.error().message();
}

TEST(Open, RefusesFilesThatAreNotSqlite) {
  TempDir dir;
  const std::string path = dir.path() + "/metadata.db";
  write_file(path, std::string(8192, 'x'));
  auto s = MetaStore::open(path);
  EXPECT_CODE(s, Code::DataLoss);
  expect_mentions(s, path);
}

TEST(Open, RefusesCorruptDatabases) {
  TempDir dir;
  const std::string path = dir.path() + "/metadata.db";
  {
    auto s = MetaStore::open(path);
    ASSERT_OK(s);
    auto t = s->begin(true);
    ASSERT_OK(t);
    for (int i = 0; i < 200; ++i)
      ASSERT_OK(t->create_snapshot(Kind::Active, "key-" + std::to_string(i), "",
                                   {{"label", std::string(100, 'l')}}));
    ASSERT_OK(t->commit());
  } // last connection closed: the WAL is checkpointed into the file
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  ASSERT_GT(st.st_size, 4 * 4096);
  {
    // Overwrite everything after the first page with garbage.
    int fd = ::open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    std::string junk(static_cast<std::size_t>(st.st_size) - 4096, '\xa5');
    ASSERT_EQ(::pwrite(fd, junk.data(), junk.size(), 4096), static_cast<ssize_t>(junk.size()));
    ::close(fd);
  }
  auto s = MetaStore::open(path);
  EXPECT_CODE(s, Code::DataLoss);
  expect_mentions(s, path);
}

TEST(Open, RefusesNewerSchemasAndForeignDatabases) {
  TempDir dir;
  const std::string newer = dir.path() + "/newer.db";
  {
    auto s = MetaStore::open(newer);
    ASSERT_OK(s);
  }
  raw_sql(newer, "PRAGMA user_version = 7");
  auto n = MetaStore::open(newer);
  EXPECT_CODE(n, Code::FailedPrecondition);
  expect_mentions(n, newer);
  expect_mentions(n, "newer");

  const std::string foreign = dir.path() + "/foreign.db";
  raw_sql(foreign, "CREATE TABLE t (x INTEGER)");
  auto f = MetaStore::open(foreign);
  EXPECT_CODE(f, Code::FailedPrecondition);
  expect_mentions(f, foreign);

  // Reopening our own file is fine.
  const std::string ours = dir.path() + "/ours.db";
  ASSERT_OK(MetaStore::open(ours));
  ASSERT_OK(MetaStore::open(ours));
}

// Lookups by key and by parent go through indexes, so Prepare, Commit and Remove stay
// O(log n) however many snapshots there are.
TEST_F(StoreTest, LookupsUseIndexes) {
  store_.reset();
  auto plan = [&](const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path().c_str(), &db), SQLITE_OK);
    std::string out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &stmt, nullptr) ==
        SQLITE_OK) {
      while (sqlite3_step(stmt) == SQLITE_ROW)
        out += std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3))) + "; ";
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
  };
  EXPECT_NE(plan("SELECT id FROM snapshots WHERE key = 'x'").find("USING"), std::string::npos);
  EXPECT_NE(plan("SELECT key FROM snapshots WHERE parent_id = 1").find("snapshots_by_parent"),
            std::string::npos);
  EXPECT_NE(plan("SELECT key FROM snapshots ORDER BY key").find("INDEX"), std::string::npos);
}

// --- concurrency -----------------------------------------------------------------------------

// Several threads, each with its own transactions: distinct keys all succeed; for an identical
// key (create) or an identical name (commit) exactly one thread wins and the others get
// AlreadyExists; SQLITE_BUSY never surfaces.
TEST_F(StoreTest, ConcurrentWritersSerializeWithOneWinnerPerKey) {
  constexpr int kThreads = 6;
  constexpr int kRounds = 25;
  std::array<std::atomic<int>, kRounds> create_wins{};
  std::array<std::atomic<int>, kRounds> commit_wins{};
  std::atomic<int> failures{0};
  std::vector<std::string> errors(kThreads);
  auto fail = [&](int t, const std::string& what, const Error& e) {
    ++failures;
    if (errors[t].empty())
      errors[t] = what + ": " + e.to_string();
  };
  // Runs `op` in its own writable transaction and commits when it succeeds; returns the code.
  auto in_tx = [&](int t, const std::string& what, auto&& op) -> Code {
    auto tx = store().begin(true);
    if (!tx.ok()) {
      fail(t, "begin " + what, tx.error());
      return tx.error().code();
    }
    auto r = op(*tx);
    if (!r.ok())
      return r.error().code();
    if (auto st = tx->commit(); !st.ok()) {
      fail(t, "commit " + what, st.error());
      return st.error().code();
    }
    return Code::Ok;
  };
  auto expect = [&](int t, const std::string& what, Code got, std::initializer_list<Code> ok) {
    for (Code c : ok)
      if (got == c)
        return;
    fail(t, what, Error(got == Code::Ok ? Code::Unknown : got, "unexpected result"));
  };

  auto worker = [&](int t) {
    for (int n = 0; n < kRounds; ++n) {
      const std::string own = "t" + std::to_string(t) + "-" + std::to_string(n);
      const std::string race = "race-" + std::to_string(n);
      const std::string winner = "winner-" + std::to_string(n);
      // A key only this thread uses.
      expect(t, "prepare " + own,
             in_tx(t, own,
                   [&](Transaction& tx) {
                     return tx.create_snapshot(Kind::Active, own, "base", {{"thread", own}});
                   }),
             {Code::Ok});
      // A key every thread creates.
      Code c = in_tx(t, race,
                     [&](Transaction& tx) { return tx.create_snapshot(Kind::Active, race, ""); });
      expect(t, "create " + race, c, {Code::Ok, Code::AlreadyExists});
      if (c == Code::Ok)
        ++create_wins[n];
      // A name every thread commits its own key to.
      c = in_tx(t, winner, [&](Transaction& tx) {
        return tx.commit_active(own, winner, Usage{1, 1}, {{"by", own}});
      });
      expect(t, "commit " + own, c, {Code::Ok, Code::AlreadyExists});
      if (c == Code::Ok)
        ++commit_wins[n];
      else
        expect(t, "remove " + own, in_tx(t, own, [&](Transaction& tx) { return tx.remove(own); }),
               {Code::Ok});
      // Readers run beside the writers and see consistent states.
      auto rtx = store().begin(false);
      if (!rtx.ok()) {
        fail(t, "begin read", rtx.error());
        continue;
      }
      auto st = rtx->walk([&](const Info& i) -> Status {
        if (i.name.starts_with("winner-") && i.parent != "base")
          return internal_error("committed snapshot without its parent: " + i.name);
        return {};
      });
      if (!st.ok())
        fail(t, "walk", st.error());
    }
  };
  layer("base");

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back(worker, t);
  for (auto& th : threads)
    th.join();

  for (const auto& e : errors)
    EXPECT_TRUE(e.empty()) << e;
  EXPECT_EQ(failures.load(), 0);
  for (int n = 0; n < kRounds; ++n) {
    EXPECT_EQ(create_wins[n].load(), 1) << "round " << n;
    EXPECT_EQ(commit_wins[n].load(), 1) << "round " << n;
  }
  // Left: base, one race-<n> and one winner-<n> per round, all with distinct ids.
  auto map = tx(false).id_map();
  ASSERT_OK(map);
  EXPECT_EQ(map->size(), static_cast<std::size_t>(1 + 2 * kRounds));
  for (const auto& [id, key] : *map)
    EXPECT_TRUE(key == "base" || key.starts_with("race-") || key.starts_with("winner-")) << key;
}
// --- scale -----------------------------------------------------------------------------------

TEST_F(StoreTest, FiveHundredLayerChain) {
  constexpr int kLayers = 520;
  std::vector<SnapshotId> ids;
  {
    auto t = tx();
    std::string parent;
    for (int i = 0; i < kLayers; ++i) {
      const std::string name = "layer-" + std::to_string(i);
      auto a = t.create_snapshot(Kind::Active, "extract " + name, parent);
      ASSERT_OK(a);
      ASSERT_EQ(a->parent_ids.size(), static_cast<std::size_t>(i));
      auto c = t.commit_active("extract " + name, name, {});
      ASSERT_OK(c);
      ids.push_back(*c);
      parent = name;
    }
    ASSERT_OK(t.commit());
  }
  auto v = create(Kind::View, "top", "layer-" + std::to_string(kLayers - 1));
  ASSERT_OK(v);
  std::vector<SnapshotId> want(ids.rbegin(), ids.rend());
  EXPECT_EQ(v->parent_ids, want);
  auto again = tx(false).get_snapshot("top");
  ASSERT_OK(again);
  EXPECT_EQ(again->parent_ids, want);
  EXPECT_CODE(remove("layer-0"), Code::FailedPrecondition);
}

TEST_F(StoreTest, TenThousandSnapshots) {
  constexpr int kBases = 100;
  constexpr int kPerBase = 100; // 10,000 committed snapshots in chains of 100
  {
    auto t = tx();
    for (int b = 0; b < kBases; ++b) {
      std::string parent;
      for (int i = 0; i < kPerBase; ++i) {
        const std::string name = "sha256:" + std::to_string(b) + "/" + std::to_string(i);
        auto a =
            t.create_snapshot(Kind::Active, "x " + name, parent, {{"chain", std::to_string(b)}});
        ASSERT_OK(a);
        ASSERT_OK(t.commit_active("x " + name, name, Usage{i, 1},
                                  {{"chain", std::to_string(b)}, {"depth", std::to_string(i)}}));
        parent = name;
      }
    }
    ASSERT_OK(t.commit());
  }
  // Single operations on the large store, each in its own durable transaction.
  for (int n = 0; n < 20; ++n) {
    const std::string parent = "sha256:" + std::to_string(n * 5) + "/99";
    auto a = create(Kind::Active, "work-" + std::to_string(n), parent);
    ASSERT_OK(a);
    EXPECT_EQ(a->parent_ids.size(), static_cast<std::size_t>(kPerBase));
    ASSERT_OK(commit("work-" + std::to_string(n), "done-" + std::to_string(n)));
    ASSERT_OK(info("done-" + std::to_string(n)));
    ASSERT_OK(remove("done-" + std::to_string(n)));
    EXPECT_CODE(remove("sha256:" + std::to_string(n) + "/0"), Code::FailedPrecondition);
  }
  int found = 0;
  ASSERT_OK(tx(false).walk(
      [&](const Info& i) -> Status {
        EXPECT_EQ(i.labels.at("depth"), "42");
        ++found;
        return {};
      },
      {"labels.depth==42"}));
  EXPECT_EQ(found, kBases);
  auto map = tx(false).id_map();
  ASSERT_OK(map);
  EXPECT_EQ(map->size(), static_cast<std::size_t>(kBases * kPerBase));
}

} // namespace
} // namespace strata::metastore::test
