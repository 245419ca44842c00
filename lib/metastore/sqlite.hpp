#pragma once
// RAII over the SQLite C API for lib/metastore: a connection that caches its prepared statements,
// and statements that reset themselves. Private to this module.

#include <strata/plugin/error.hpp>

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace strata::metastore::detail {

class Statement;

/// One SQLite connection, used by one thread at a time.
class Connection {
public:
  /// Opens an existing or empty file `path` read-write with the per-connection settings
  /// (busy timeout, synchronous=FULL, foreign keys). Errors: those of SQLite, naming `path`.
  static Result<std::unique_ptr<Connection>> open(const std::string& path, int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs one or more statements that return no rows. Errors: those of SQLite.
  Status exec(const char* sql, std::string_view what);

  /// The cached statement for `sql`, which must be a string literal (the cache is keyed by its
  /// address). Errors: those of SQLite.
  Result<Statement> prepare(const char* sql);

  /// An Error for result code `rc`, with SQLite's message, "<what>" and the path.
  Error error(int rc, std::string_view what) const;

  sqlite3* handle() const noexcept { return db_; }
  const std::string& path() const noexcept { return path_; }

private:
  Connection(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
  std::map<const char*, sqlite3_stmt*> cache_;
};

/// A borrowed cached statement: bind, step, read; resets and clears its bindings when destroyed.
/// Never use the same SQL text twice at once on one connection.
class Statement {
public:
  Statement(Connection& conn, sqlite3_stmt* stmt) : conn_(&conn), stmt_(stmt) {}
  Statement(Statement&& o) noexcept : conn_(o.conn_), stmt_(o.stmt_), bind_rc_(o.bind_rc_) {
    o.stmt_ = nullptr;
  }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  ~Statement();

  /// Binds parameter `i` (from 1). A failure is reported by the next step().
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, std::string_view v);
  Statement& bind(int i, std::optional<std::int64_t> v);

  /// Advances: true when a row is ready, false when done. Errors: those of SQLite.
  Result<bool> step(std::string_view what);
  /// Steps until done, for statements without rows. Errors: those of SQLite.
  Status run(std::string_view what);

  std::int64_t int64(int col) const;
  std::optional<std::int64_t> optional_int64(int col) const;
  /// Column as bytes (embedded NULs kept).
  std::string text(int col) const;

private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

} // namespace strata::metastore::detail
