#include "sqlite.hpp"

#include <strata/plugin/try.hpp>

#include <limits>

namespace strata::metastore::detail {

namespace {

Code code_of(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return Code::Unavailable;
  case SQLITE_FULL:
  case SQLITE_NOMEM:
  case SQLITE_TOOBIG:
    return Code::ResourceExhausted;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return Code::DataLoss;
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return Code::PermissionDenied;
  case SQLITE_CANTOPEN:
    return Code::Unavailable;
  default:
    return Code::Internal;
  }
}

std::string hint_for(int rc) {
  switch (rc & 0xff) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return " (another writer held the database longer than the busy timeout; retry later)";
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return " (the file is not a SQLite database or is corrupt; move it aside and restore it "
           "from a backup, or start with an empty root)";
  case SQLITE_FULL:
    return " (the disk is full; free space and retry)";
  default:
    return "";
  }
}

} // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::string& path, int busy_timeout_ms) {
  sqlite3* db = nullptr;
  // NOMUTEX: a connection is only ever used by the thread holding its transaction.
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
  if (db == nullptr)
    return Error(Code::ResourceExhausted, "metastore: cannot open " + path + ": out of memory");
  std::unique_ptr<Connection> conn(new Connection(db, path));
  if (rc != SQLITE_OK)
    return conn->error(rc, "cannot open the database");
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  // synchronous=FULL: in WAL mode NORMAL may lose the last commits on power loss, and a commit
  // that returned must survive (the snapshotter deletes or reuses data on that promise).
  // The first statement also reads the header, so a non-database file fails here.
  if (auto st = conn->exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                           "cannot configure the connection");
      !st)
    return std::move(st).error();
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : cache_)
    sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Error Connection::error(int rc, std::string_view what) const {
  std::string msg = "metastore " + path_ + ": " + std::string(what) + ": ";
  const char* detail = sqlite3_errmsg(db_);
  // errmsg describes the last failed call, which is not always the one reported (e.g. binds).
  bool same = (sqlite3_errcode(db_) & 0xff) == (rc & 0xff);
  msg += (detail != nullptr && same) ? detail : sqlite3_errstr(rc);
  msg += hint_for(rc);
  return Error(code_of(rc), std::move(msg));
}

Status Connection::exec(const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK)
    return error(rc, what);
  return {};
}

Result<Statement> Connection::prepare(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK)
      return error(rc, std::string("cannot prepare \"") + sql + "\"");
    it = cache_.emplace(sql, stmt).first;
  }
  return Statement(*this, it->second);
}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(stmt_, i, v);
  if (bind_rc_ == SQLITE_OK)
    bind_rc_ = rc;
  return *this;
}

Statement& Statement::bind(int i, std::string_view v) {
  // Longer strings would not fit the int length; SQLite's own limit is lower anyway.
  int rc =
      v.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())
          ? SQLITE_TOOBIG
          : sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK)
    bind_rc_ = rc;
  return *this;
}

Statement& Statement::bind(int i, std::optional<std::int64_t> v) {
  if (v)
    return bind(i, *v);
  int rc = sqlite3_bind_null(stmt_, i);
  if (bind_rc_ == SQLITE_OK)
    bind_rc_ = rc;
  return *this;
}

Result<bool> Statement::step(std::string_view what) {
  if (bind_rc_ != SQLITE_OK)
    return conn_->error(bind_rc_, what);
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  return conn_->error(rc, what);
}

Status Statement::run(std::string_view what) {
  for (;;) {
    STRATA_TRY_ASSIGN(auto row, step(what));
    if (!row)
      return {};
  }
}

std::int64_t Statement::int64(int col) const {
  return sqlite3_column_int64(stmt_, col);
}

std::optional<std::int64_t> Statement::optional_int64(int col) const {
  if (sqlite3_column_type(stmt_, col) == SQLITE_NULL)
    return std::nullopt;
  return sqlite3_column_int64(stmt_, col);
}

std::string Statement::text(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  int n = sqlite3_column_bytes(stmt_, col);
  if (p == nullptr || n <= 0)
    return {};
  return std::string(static_cast<const char*>(p), static_cast<std::size_t>(n));
}

} // namespace strata::metastore::detail
