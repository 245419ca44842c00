// MetaStore: opening the file, the connection pool and starting transactions.

#include "state.hpp"

#include <strata/fs/posix.hpp>
#include <strata/plugin/try.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <exception>

namespace strata::metastore {

namespace detail {

Result<std::unique_ptr<Connection>> Pool::acquire() {
  {
    std::lock_guard lock(mu);
    if (!idle.empty()) {
      auto conn = std::move(idle.back());
      idle.pop_back();
      return conn;
    }
  }
  return Connection::open(path, busy_timeout_ms);
}

void Pool::release(std::unique_ptr<Connection> conn) noexcept {
  // Keep a few idle connections; more only appear under bursts of concurrent transactions.
  constexpr std::size_t kMaxIdle = 8;
  std::lock_guard lock(mu);
  if (idle.size() < kMaxIdle)
    idle.push_back(std::move(conn));
}

} // namespace detail

namespace {

// Creates the file with mode 0600 (SQLite would use 0644 minus umask) and checks that it is a
// regular file, so that errors name the path and the errno.
Status create_file(const std::string& path) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd)
    return fs::sys_error("metastore: cannot open " + path, errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0)
    return fs::sys_error("metastore: cannot stat " + path, errno);
  if (!S_ISREG(st.st_mode))
    return invalid_argument("metastore: " + path + " is not a regular file");
  return {};
}

Status enable_wal(detail::Connection& conn) {
  STRATA_TRY_ASSIGN(auto stmt, conn.prepare("PRAGMA journal_mode = WAL"));
  STRATA_TRY_ASSIGN(auto row, stmt.step("cannot switch to WAL mode"));
  std::string mode = row ? stmt.text(0) : "";
  if (mode != "wal")
    return unavailable("metastore " + conn.path() +
                       ": the file system does not support SQLite's WAL mode (journal mode is \"" +
                       mode + "\"); keep the strata root on a local file system");
  return {};
}

Status quick_check(detail::Connection& conn) {
  STRATA_TRY_ASSIGN(auto stmt, conn.prepare("PRAGMA quick_check(1)"));
  STRATA_TRY_ASSIGN(auto row, stmt.step("cannot check the database"));
  std::string result = row ? stmt.text(0) : "";
  if (result != "ok")
    return Error(Code::DataLoss, "metastore " + conn.path() + " is corrupt (" + result +
                                     "); move it aside and restore it from a backup");
  return {};
}

Result<std::shared_ptr<detail::Pool>> open_pool(const std::string& path, const Options& options) {
  if (path.empty())
    return invalid_argument("metastore: the database path is empty");
  STRATA_TRY(create_file(path));
  auto pool = std::make_shared<detail::Pool>();
  pool->path = path;
  pool->busy_timeout_ms = static_cast<int>(options.busy_timeout.count());
  auto conn = detail::Connection::open(path, pool->busy_timeout_ms);
  if (!conn)
    return std::move(conn).error();
  for (auto step : {enable_wal, quick_check, detail::prepare_schema})
    STRATA_TRY(step(**conn));
  pool->release(std::move(*conn));
  return pool;
}

} // namespace

Result<MetaStore> MetaStore::open(const std::string& path, const Options& options) {
  try {
    STRATA_TRY_ASSIGN(auto pool, open_pool(path, options));
    return MetaStore(std::move(pool));
  } catch (const std::exception& e) {
    return internal_error("metastore: cannot open " + path + ": " + e.what());
  }
}

const std::string& MetaStore::path() const {
  return pool_->path;
}

Result<Transaction> MetaStore::begin(bool writable) const {
  try {
    auto conn = pool_->acquire();
    if (!conn)
      return std::move(conn).error();
    // IMMEDIATE takes the write lock now, so the busy timeout applies; a deferred transaction
    // upgrading later could fail at once with SQLITE_BUSY when another writer got in between.
    const char* sql = writable ? "BEGIN IMMEDIATE" : "BEGIN";
    if (auto st = (*conn)->exec(sql, writable ? "cannot start a write transaction"
                                              : "cannot start a read transaction");
        !st) {
      pool_->release(std::move(*conn));
      return std::move(st).error();
    }
    auto state = std::make_unique<detail::TxState>();
    state->pool = pool_;
    state->conn = std::move(*conn);
    state->writable = writable;
    return Transaction(std::move(state));
  } catch (const std::exception& e) {
    return internal_error("metastore " + pool_->path + ": cannot start a transaction: " + e.what());
  }
}

Status MetaStore::with_transaction(bool writable,
                                   const std::function<Status(Transaction&)>& fn) const {
  STRATA_TRY_ASSIGN(auto tx, begin(writable));
  Status st;
  try {
    st = fn(tx);
  } catch (const std::exception& e) {
    st = internal_error("metastore " + pool_->path + ": transaction body threw: " + e.what());
  } catch (...) {
    st = internal_error("metastore " + pool_->path + ": transaction body threw");
  }
  if (!st)
    return st; // the destructor rolls back
  return tx.commit();
}

} // namespace strata::metastore
