#pragma once
// Test support for lib/metastore: a temporary directory with a store in it, and helpers that
// run one operation in its own committed transaction.

#include <strata/metastore/metastore.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

namespace strata::metastore::test {

#define ASSERT_OK(expr)                                                                            \
  do {                                                                                             \
    const auto& assert_ok_r = (expr);                                                              \
    ASSERT_TRUE(assert_ok_r.ok()) << #expr << ": " << assert_ok_r.error().to_string();             \
  } while (0)

#define EXPECT_CODE(expr, want)                                                                    \
  do {                                                                                             \
    const auto& expect_code_r = (expr);                                                            \
    if (expect_code_r.ok())                                                                        \
      ADD_FAILURE() << #expr << ": succeeded, want " << ::strata::to_string(want);                 \
    else                                                                                           \
      EXPECT_EQ(expect_code_r.error().code(), want) << expect_code_r.error().to_string();          \
  } while (0)

/// Expects `r` to have failed with a message containing `text`.
template <class R> void expect_mentions(const R& r, const std::string& text) {
  if (r.ok()) {
    ADD_FAILURE() << "succeeded, want an error mentioning " << text;
    return;
  }
  EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().message();
}

/// A directory under /tmp removed with everything in it when the object goes away.
class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/strata-metastore-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr)
      ADD_FAILURE() << "mkdtemp failed";
    else
      path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty())
      std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

private:
  std::string path_;
};

/// A fixture with a fresh store at <tmp>/metadata.db.
class StoreTest : public ::testing::Test {
protected:
  void SetUp() override { reopen(); }

  std::string db_path() const { return dir_.path() + "/metadata.db"; }

  void reopen() {
    store_.reset();
    auto s = MetaStore::open(db_path());
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    store_.emplace(std::move(*s));
  }

  MetaStore& store() { return *store_; }

  Transaction tx(bool writable = true) {
    auto t = store_->begin(writable);
    if (!t.ok()) {
      ADD_FAILURE() << "begin: " << t.error().to_string();
      std::abort();
    }
    return std::move(*t);
  }

  /// create_snapshot in its own committed transaction.
  Result<Snapshot> create(Kind kind, const std::string& key, const std::string& parent = "",
                          const Labels& labels = {}) {
    auto t = tx();
    auto r = t.create_snapshot(kind, key, parent, labels);
    if (r.ok())
      if (auto st = t.commit(); !st.ok())
        return std::move(st).error();
    return r;
  }

  /// commit_active in its own committed transaction.
  Result<SnapshotId> commit(const std::string& key, const std::string& name,
                            const Labels& labels = {}, const std::string& parent = "",
                            const Usage& usage = {}) {
    auto t = tx();
    auto r = t.commit_active(key, name, usage, labels, parent);
    if (r.ok())
      if (auto st = t.commit(); !st.ok())
        return std::move(st).error();
    return r;
  }

  /// Prepares `name`-tmp on `parent` and commits it as `name`; returns the id.
  SnapshotId layer(const std::string& name, const std::string& parent = "",
                   const Labels& labels = {}) {
    auto a = create(Kind::Active, name + "-tmp", parent);
    EXPECT_TRUE(a.ok()) << a.error().to_string();
    auto c = commit(name + "-tmp", name, labels);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    return c.ok() ? *c : 0;
  }

  Result<Record> info(const std::string& key) { return tx(false).get_info(key); }

  Result<Removed> remove(const std::string& key) {
    auto t = tx();
    auto r = t.remove(key);
    if (r.ok())
      if (auto st = t.commit(); !st.ok())
        return std::move(st).error();
    return r;
  }

  TempDir dir_;
  std::optional<MetaStore> store_;
};

} // namespace strata::metastore::test
