// The on-disk schema and its version check.
//
// snapshots.id is AUTOINCREMENT so that an id is never reused even after the highest one is
// removed: snapshotters name directories by id, and a reused id could meet a directory that a
// crash left behind. The UNIQUE key index gives byte-ordered walks (BINARY collation) and
// O(log n) lookups; the parent index makes the children check and remove O(log n).

#include "state.hpp"

#include <strata/plugin/try.hpp>

#include <string>

namespace strata::metastore::detail {

namespace {

constexpr const char* kCreateV1 = R"sql(
CREATE TABLE snapshots (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  kind INTEGER NOT NULL CHECK (kind IN (1, 2, 3)),
  parent_id INTEGER REFERENCES snapshots(id),
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  inodes INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX snapshots_by_parent ON snapshots(parent_id);
CREATE TABLE labels (
  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, name)
) STRICT, WITHOUT ROWID;
)sql";

Result<std::int64_t> pragma_int(Connection& conn, const char* sql, std::string_view what) {
  STRATA_TRY_ASSIGN(auto stmt, conn.prepare(sql));
  auto row = stmt.step(what);
  if (!row)
    return std::move(row).error();
  return *row ? stmt.int64(0) : 0;
}

Status check_and_create(Connection& conn) {
  const std::string& path = conn.path();
  auto version = pragma_int(conn, "PRAGMA user_version", "cannot read the schema version");
  if (!version)
    return std::move(version).error();
  STRATA_TRY_ASSIGN(auto app,
                    pragma_int(conn, "PRAGMA application_id", "cannot read the application id"));
  auto tables =
      pragma_int(conn, "SELECT count(*) FROM sqlite_schema", "cannot read the list of tables");
  if (!tables)
    return std::move(tables).error();

  if (app != 0 && app != kApplicationId)
    return failed_precondition("metastore " + path +
                               " is a SQLite database of another application (application_id " +
                               std::to_string(app) + "); point strata at its own root");
  if (*version > kSchemaVersion)
    return failed_precondition(
        "metastore " + path + " has schema version " + std::to_string(*version) +
        ", newer than the version " + std::to_string(kSchemaVersion) +
        " this strata supports; it was written by a newer strata: upgrade strata");
  if (*version == kSchemaVersion) {
    if (app != kApplicationId)
      return failed_precondition("metastore " + path +
                                 " is a SQLite database that strata did not create");
    return {};
  }
  if (*version != 0 || *tables != 0)
    return failed_precondition("metastore " + path +
                               " is a SQLite database that strata did not create (it has " +
                               std::to_string(*tables) + " schema objects and user_version " +
                               std::to_string(*version) + "); point strata at its own root");
  STRATA_TRY(conn.exec(kCreateV1, "cannot create the schema"));
  const std::string stamp = "PRAGMA application_id = " + std::to_string(kApplicationId) +
                            "; PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";";
  return conn.exec(stamp.c_str(), "cannot record the schema version");
}

} // namespace

Status prepare_schema(Connection& conn) {
  // IMMEDIATE: two processes opening a fresh file must not both create the schema.
  STRATA_TRY(conn.exec("BEGIN IMMEDIATE", "cannot lock the database to check its schema"));
  Status st = check_and_create(conn);
  if (!st) {
    (void)conn.exec("ROLLBACK", "rollback");
    return st;
  }
  if (auto c = conn.exec("COMMIT", "cannot commit the schema"); !c) {
    (void)conn.exec("ROLLBACK", "rollback");
    return c;
  }
  return {};
}

} // namespace strata::metastore::detail
