#pragma once
// Shared state of MetaStore (a pool of connections) and Transaction. Private to lib/metastore.

#include "sqlite.hpp"

#include <strata/metastore/metastore.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace strata::metastore::detail {

/// Connections to one database file, reused across transactions.
struct Pool {
  std::string path;
  int busy_timeout_ms = 0;
  std::mutex mu;
  std::vector<std::unique_ptr<Connection>> idle;

  /// An idle connection, or a new one. Errors: those of Connection::open.
  Result<std::unique_ptr<Connection>> acquire();
  /// Returns a connection that has no open transaction.
  void release(std::unique_ptr<Connection> conn) noexcept;
};

/// An open transaction: its connection and what rollback must undo.
struct TxState {
  std::shared_ptr<Pool> pool;
  std::unique_ptr<Connection> conn;
  bool writable = false;
  bool open = true;
  /// Highest id this transaction allocated; a rollback keeps it from being handed out again.
  SnapshotId max_allocated = 0;

  ~TxState();
  /// Rolls back and returns the connection to the pool; idempotent.
  void end_rollback() noexcept;
};

/// The schema version this build writes and reads (PRAGMA user_version).
inline constexpr int kSchemaVersion = 1;
/// PRAGMA application_id of a strata metastore: "STRM".
inline constexpr std::int32_t kApplicationId = 0x5354524d;

/// Creates the schema in a fresh file, or checks the version of an existing one.
/// Errors: FailedPrecondition (newer schema, foreign database); those of SQLite.
Status prepare_schema(Connection& conn);

} // namespace strata::metastore::detail
