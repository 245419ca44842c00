#pragma once
/// \file
/// Snapshot metadata on SQLite, shared by the snapshotter plugins (overlay, native, blockfile).
///
/// A snapshotter keeps one MetaStore per root and wraps every operation in a Transaction, doing
/// its filesystem work *inside* the transaction and calling commit() only once the data is in
/// place, so metadata is never durable before the data it describes:
///
///     auto tx = store.begin(true);                 // Result<Transaction>
///     auto snap = tx->create_snapshot(Kind::Active, key, parent, labels);
///     ... create <root>/snapshots/<snap->id> ...   // on failure: return; tx rolls back
///     if (auto st = tx->commit(); !st) { ... remove the directory ... }
///
/// Semantics follow containerd's snapshot storage package: active/view keys and committed names
/// share one key space; a parent is always committed; ids are integers that are never handed out
/// twice, so a snapshotter names directories by id and never by key (keys may hold '/' and
/// spaces). Every error names the key and the database file.

#include <strata/plugin/error.hpp>
#include <strata/plugin/snapshot.hpp>
#include <strata/plugin/snapshotter.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace strata::metastore {

/// Internal snapshot id: starts at 1, unique for the life of the database. An id is never
/// reused after its snapshot is removed, nor after the transaction that allocated it rolls back
/// (only a crash before the rollback finishes can lose that guarantee for the id being
/// allocated; Cleanup via Transaction::id_map() removes such leftovers).
using SnapshotId = std::int64_t;

/// What a snapshotter needs to build mounts: the snapshot's id, kind and ancestry.
struct Snapshot {
  SnapshotId id = 0;
  Kind kind = Kind::Unknown;
  /// Ids of the committed parents, immediate parent first, base layer last.
  std::vector<SnapshotId> parent_ids;
  bool operator==(const Snapshot&) const = default;
};

/// A snapshot's id with its Info and stored Usage (recorded at commit; zero for active and view
/// snapshots, whose usage the snapshotter measures live).
struct Record {
  SnapshotId id = 0;
  Info info;
  Usage usage;
};

/// What remove() removed: the id (the directory to delete) and the kind it had.
struct Removed {
  SnapshotId id = 0;
  Kind kind = Kind::Unknown;
};

/// Options of MetaStore::open.
struct Options {
  /// How long a transaction waits for a writer in another thread or process before giving up
  /// with Unavailable. Writers hold the lock while the snapshotter does filesystem work, so this
  /// is generous.
  std::chrono::milliseconds busy_timeout{60000};
};

class Transaction;

namespace detail {
struct Pool;
struct TxState;
} // namespace detail

/// An open metadata database. Cheap to copy (copies share connections); safe to use from several
/// threads at once, each with its own Transactions. Several processes may open the same file.
class MetaStore {
public:
  /// Opens (creating it with mode 0600 when missing) the database at `path`, in WAL mode with
  /// synchronous=FULL so that a commit that returned survives a crash or power loss. The
  /// directory must exist.
  /// Errors: by errno when the file cannot be created or opened (NotFound, PermissionDenied, ...);
  /// DataLoss when it is not a SQLite database or is corrupt; FailedPrecondition when it was
  /// written by a newer strata (schema version too high) or is another application's database.
  /// Every message names `path`.
  static Result<MetaStore> open(const std::string& path, const Options& options = {});

  /// Starts a transaction. A writable one takes the write lock at once (waiting up to
  /// busy_timeout for other writers); a read-only one sees a consistent snapshot and never
  /// blocks writers. Do not start a second writable transaction in a thread that still holds
  /// one: it would wait for itself until busy_timeout.
  /// Errors: Unavailable (lock not obtained in time); those of SQLite otherwise.
  Result<Transaction> begin(bool writable) const;

  /// Runs `fn` in a transaction and commits it when `fn` succeeds; rolls back when it fails
  /// (containerd's WithTransaction). Errors: begin's, fn's, or commit's.
  Status with_transaction(bool writable, const std::function<Status(Transaction&)>& fn) const;

  /// The database file.
  const std::string& path() const;

private:
  explicit MetaStore(std::shared_ptr<detail::Pool> pool) : pool_(std::move(pool)) {}
  std::shared_ptr<detail::Pool> pool_;
};

/// One transaction on a MetaStore. Move-only; rolled back on destruction unless committed.
/// Use it from one thread at a time. After commit() or rollback() every call fails with
/// FailedPrecondition. Write operations on a read-only transaction fail with FailedPrecondition
/// and change nothing. An operation that fails changes nothing, so the caller may continue the
/// transaction.
class Transaction {
public:
  Transaction(Transaction&&) noexcept;
  Transaction& operator=(Transaction&&) noexcept;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  /// Rolls back when still open.
  ~Transaction();

  /// True for a writable transaction.
  bool writable() const noexcept;

  /// Creates an active or view snapshot `key` on committed `parent` ("" for none) with `labels`
  /// (empty values are dropped); created = updated = now.
  /// Errors: InvalidArgument (kind neither Active nor View; empty key; parent not committed);
  /// AlreadyExists (key exists as any kind); NotFound (parent missing).
  Result<Snapshot> create_snapshot(Kind kind, const std::string& key, const std::string& parent,
                                   const Labels& labels = {});

  /// Id, kind and parent ids of an active or view snapshot (to build its mounts).
  /// Errors: NotFound; FailedPrecondition when `key` is committed.
  Result<Snapshot> get_snapshot(const std::string& key);

  /// Id, Info and stored Usage of a snapshot of any kind. Errors: NotFound.
  Result<Record> get_info(const std::string& key);

  /// Updates the labels of snapshot info.name as Snapshotter::update describes: no field paths
  /// or "labels" replaces the map, "labels.<k>" sets or (missing/empty value) deletes k; other
  /// fields of `info` are ignored; updated = now. Returns the stored Info.
  /// Errors: InvalidArgument (empty name; any other field path, or "labels." with an empty key:
  /// nothing is changed); NotFound.
  Result<Info> update_info(const Info& info, const std::vector<std::string>& fieldpaths);

  /// Turns active snapshot `key` into committed snapshot `name`, keeping its id; `key`
  /// disappears. Labels become `labels` (not inherited); created = updated = now; `usage` is
  /// stored. `parent` rebases: a parentless active is committed onto committed `parent`; its own
  /// parent is accepted; "" keeps the current parent. Returns the id.
  /// Errors: InvalidArgument (empty key or name; `parent` differs from the snapshot's non-empty
  /// parent); NotFound (key missing; rebase parent missing); AlreadyExists (name exists);
  /// FailedPrecondition (key is a view or committed; rebase parent not committed).
  Result<SnapshotId> commit_active(const std::string& key, const std::string& name,
                                   const Usage& usage, const Labels& labels = {},
                                   const std::string& parent = {});

  /// Removes snapshot `key` of any kind; its id is never handed out again. Returns its id and
  /// kind. Errors: NotFound; FailedPrecondition when any snapshot has it as parent.
  Result<Removed> remove(const std::string& key);

  /// Calls `fn` with the Info of every snapshot matching any of `filters` (the SDK's snapshot
  /// filters, strata/plugin/filters.hpp; none: all), in byte order of name. `fn` may use this
  /// transaction (reads the state of the start of the walk). Errors: InvalidArgument (bad filter,
  /// before any call); the first error of fn.
  Status walk(const WalkFn& fn, const std::vector<std::string>& filters = {});

  /// Every snapshot's id and key, for removing directories that no snapshot owns (Cleanup).
  Result<std::map<SnapshotId, std::string>> id_map();

  /// Makes the transaction durable and ends it. On failure it is rolled back.
  /// Errors: FailedPrecondition (already ended); those of SQLite (e.g. ResourceExhausted when
  /// the disk is full).
  Status commit();

  /// Discards every change and ends the transaction; does nothing when already ended.
  void rollback() noexcept;

private:
  friend class MetaStore;
  explicit Transaction(std::unique_ptr<detail::TxState> state);
  std::unique_ptr<detail::TxState> s_;
};

} // namespace strata::metastore
