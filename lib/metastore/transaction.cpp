// Transaction: the snapshot operations, with containerd's storage semantics.

#include "state.hpp"

#include <strata/plugin/filters.hpp>
#include <strata/plugin/labels.hpp>
#include <strata/plugin/try.hpp>

#include <algorithm>
#include <exception>
#include <optional>
#include <unordered_map>

namespace strata::metastore {

using detail::Connection;

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Timestamp from_ns(std::int64_t ns) {
  return Timestamp(std::chrono::duration_cast<Timestamp::duration>(std::chrono::nanoseconds(ns)));
}

std::string q(std::string_view key) {
  return "\"" + std::string(key) + "\"";
}

std::string lower_kind(Kind kind) {
  switch (kind) {
  case Kind::Active:
    return "active";
  case Kind::View:
    return "view";
  case Kind::Committed:
    return "committed";
  default:
    return "unknown";
  }
}

Kind kind_from_db(std::int64_t v) {
  switch (v) {
  case 1:
    return Kind::View;
  case 2:
    return Kind::Active;
  case 3:
    return Kind::Committed;
  default:
    return Kind::Unknown;
  }
}

/// One row of the snapshots table.
struct Row {
  SnapshotId id = 0;
  Kind kind = Kind::Unknown;
  std::optional<SnapshotId> parent_id;
  std::int64_t created = 0;
  std::int64_t updated = 0;
  Usage usage;
};

Result<std::optional<Row>> find(Connection& conn, const std::string& key) {
  STRATA_TRY_ASSIGN(auto stmt,
                    conn.prepare("SELECT id, kind, parent_id, created, updated, size, inodes "
                                 "FROM snapshots WHERE key = ?1"));
  stmt.bind(1, std::string_view(key));
  STRATA_TRY_ASSIGN(auto row, stmt.step("cannot look up snapshot " + q(key)));
  if (!row)
    return std::optional<Row>();
  Row r;
  r.id = stmt.int64(0);
  r.kind = kind_from_db(stmt.int64(1));
  r.parent_id = stmt.optional_int64(2);
  r.created = stmt.int64(3);
  r.updated = stmt.int64(4);
  r.usage = Usage{stmt.int64(5), stmt.int64(6)};
  return std::optional<Row>(r);
}

Result<std::string> key_of(Connection& conn, SnapshotId id) {
  STRATA_TRY_ASSIGN(auto stmt, conn.prepare("SELECT key FROM snapshots WHERE id = ?1"));
  stmt.bind(1, id);
  STRATA_TRY_ASSIGN(auto row, stmt.step("cannot look up snapshot id " + std::to_string(id)));
  if (!row)
    return Error(Code::DataLoss, "metastore " + conn.path() + ": snapshot id " +
                                     std::to_string(id) + " is referenced but missing");
  return stmt.text(0);
}

/// `id` itself when `self`, then its ancestors, nearest first: one indexed lookup per layer.
Result<std::vector<SnapshotId>> chain_of(Connection& conn, SnapshotId id) {
  STRATA_TRY_ASSIGN(auto stmt, conn.prepare(R"sql(
    WITH RECURSIVE chain(id, parent_id, depth) AS (
      SELECT id, parent_id, 0 FROM snapshots WHERE id = ?1
      UNION ALL
      SELECT s.id, s.parent_id, chain.depth + 1 FROM snapshots AS s JOIN chain
        ON s.id = chain.parent_id WHERE chain.depth < 1000000
    )
    SELECT id FROM chain ORDER BY depth)sql"));
  stmt.bind(1, id);
  std::vector<SnapshotId> ids;
  for (;;) {
    STRATA_TRY_ASSIGN(auto row,
                      stmt.step("cannot read the parents of snapshot id " + std::to_string(id)));
    if (!row)
      break;
    ids.push_back(stmt.int64(0));
  }
  return ids;
}

Result<std::vector<SnapshotId>> parent_ids_of(Connection& conn, const Row& row) {
  if (!row.parent_id)
    return std::vector<SnapshotId>{};
  return chain_of(conn, *row.parent_id);
}

Result<Labels> labels_of(Connection& conn, SnapshotId id) {
  STRATA_TRY_ASSIGN(auto stmt,
                    conn.prepare("SELECT name, value FROM labels WHERE snapshot_id = ?1"));
  stmt.bind(1, id);
  Labels labels;
  for (;;) {
    STRATA_TRY_ASSIGN(auto row,
                      stmt.step("cannot read the labels of snapshot id " + std::to_string(id)));
    if (!row)
      break;
    labels.emplace(stmt.text(0), stmt.text(1));
  }
  return labels;
}

/// Replaces the labels of `id`; empty values are never stored.
Status write_labels(Connection& conn, SnapshotId id, const Labels& labels) {
  {
    STRATA_TRY_ASSIGN(auto del, conn.prepare("DELETE FROM labels WHERE snapshot_id = ?1"));
    STRATA_TRY(del.bind(1, id).run("cannot replace labels"));
  }
  for (const auto& [name, value] : labels) {
    if (value.empty())
      continue;
    STRATA_TRY_ASSIGN(
        auto ins,
        conn.prepare("INSERT INTO labels (snapshot_id, name, value) VALUES (?1, ?2, ?3)"));
    ins.bind(1, id).bind(2, std::string_view(name)).bind(3, std::string_view(value));
    STRATA_TRY(ins.run("cannot store label " + q(name)));
  }
  return {};
}

Result<Record> load_record(Connection& conn, const std::string& key, const Row& row) {
  Record rec;
  rec.id = row.id;
  rec.info.kind = row.kind;
  rec.info.name = key;
  if (row.parent_id) {
    auto parent = key_of(conn, *row.parent_id);
    if (!parent)
      return std::move(parent).error();
    rec.info.parent = std::move(*parent);
  }
  auto labels = labels_of(conn, row.id);
  if (!labels)
    return std::move(labels).error();
  rec.info.labels = std::move(*labels);
  rec.info.created = from_ns(row.created);
  rec.info.updated = from_ns(row.updated);
  rec.usage = row.usage;
  return rec;
}

Error missing(const std::string& key) {
  return not_found("metastore: snapshot " + q(key) + " does not exist");
}

/// Runs `body` on the transaction's connection after checking its state; write operations run
/// in a savepoint so that a failure changes nothing. Exceptions become Internal errors.
template <class T, class F>
Result<T> run(detail::TxState* s, bool write, std::string_view op, const std::string& key,
              F&& body) {
  const std::string what = std::string(op) + " " + q(key);
  if (s == nullptr || !s->open)
    return failed_precondition("metastore: cannot " + what +
                               ": the transaction has already been committed or rolled back");
  if (write && !s->writable)
    return failed_precondition("metastore: cannot " + what +
                               ": the transaction is read-only (begin(true) for writes)");
  Connection& conn = *s->conn;
  if (write)
    STRATA_TRY(conn.exec("SAVEPOINT op", "cannot " + what));
  auto undo = [&] {
    if (write)
      (void)conn.exec("ROLLBACK TO op; RELEASE op", "rollback");
  };
  try {
    Result<T> r = body(conn);
    if (!r) {
      undo();
      return r;
    }
    if (write)
      if (auto st = conn.exec("RELEASE op", "cannot " + what); !st) {
        undo();
        return std::move(st).error();
      }
    return r;
  } catch (const std::exception& e) {
    undo();
    return internal_error("metastore " + conn.path() + ": cannot " + what + ": " + e.what());
  } catch (...) {
    undo();
    return internal_error("metastore " + conn.path() + ": cannot " + what + ": exception");
  }
}

/// Makes sure no later transaction is handed an id up to `max_id`.
void reserve_ids(Connection& conn, SnapshotId max_id) {
  if (!conn.exec("BEGIN IMMEDIATE", "reserve ids"))
    return;
  auto up = [&](const char* sql) {
    auto stmt = conn.prepare(sql);
    return stmt && stmt->bind(1, max_id).run("reserve ids").ok();
  };
  bool ok = up("UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'snapshots'") &&
            up("INSERT INTO sqlite_sequence (name, seq) SELECT 'snapshots', ?1 "
               "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'snapshots')");
  (void)conn.exec(ok ? "COMMIT" : "ROLLBACK", "reserve ids");
  if (sqlite3_get_autocommit(conn.handle()) == 0)
    (void)conn.exec("ROLLBACK", "reserve ids");
}

} // namespace

namespace detail {

TxState::~TxState() {
  end_rollback();
}

void TxState::end_rollback() noexcept {
  if (!open)
    return;
  open = false;
  if (!conn)
    return;
  try {
    if (sqlite3_get_autocommit(conn->handle()) == 0)
      (void)conn->exec("ROLLBACK", "rollback");
    // The rolled-back inserts also rolled back the id sequence. A snapshotter may already have
    // created directories named by those ids, so they are reserved with a small transaction.
    if (writable && max_allocated > 0 && sqlite3_get_autocommit(conn->handle()) != 0)
      reserve_ids(*conn, max_allocated);
  } catch (...) {
    // Best effort: the connection is dropped below if it is still inside a transaction.
  }
  if (sqlite3_get_autocommit(conn->handle()) != 0)
    pool->release(std::move(conn));
  conn.reset();
}

} // namespace detail

Transaction::Transaction(std::unique_ptr<detail::TxState> state) : s_(std::move(state)) {}
Transaction::Transaction(Transaction&&) noexcept = default;
Transaction& Transaction::operator=(Transaction&&) noexcept = default;
Transaction::~Transaction() = default;

bool Transaction::writable() const noexcept {
  return s_ && s_->writable;
}

Result<Snapshot> Transaction::create_snapshot(Kind kind, const std::string& key,
                                              const std::string& parent, const Labels& labels) {
  auto r = run<Snapshot>(
      s_.get(), true, "create snapshot", key, [&](Connection& conn) -> Result<Snapshot> {
        if (kind != Kind::Active && kind != Kind::View)
          return invalid_argument("metastore: cannot create snapshot " + q(key) + " of kind " +
                                  std::string(to_string(kind)) +
                                  ": only Active and View snapshots are created, Committed ones "
                                  "come from commit");
        if (key.empty())
          return invalid_argument("metastore: cannot create a snapshot with an empty key");
        STRATA_TRY_ASSIGN(auto existing, find(conn, key));
        if (existing)
          return already_exists("metastore: snapshot " + q(key) + " already exists (" +
                                lower_kind(existing->kind) + ")");
        Snapshot snap;
        snap.kind = kind;
        std::optional<SnapshotId> parent_id;
        if (!parent.empty()) {
          STRATA_TRY_ASSIGN(auto p, find(conn, parent));
          if (!p)
            return not_found("metastore: parent " + q(parent) + " of snapshot " + q(key) +
                             " does not exist");
          if (p->kind != Kind::Committed)
            return invalid_argument("metastore: parent " + q(parent) + " of snapshot " + q(key) +
                                    " is not a committed snapshot (it is " + lower_kind(p->kind) +
                                    "); commit it first");
          STRATA_TRY_ASSIGN(auto chain, chain_of(conn, p->id));
          snap.parent_ids = std::move(chain);
          parent_id = p->id;
        }
        STRATA_TRY_ASSIGN(
            auto ins, conn.prepare("INSERT INTO snapshots (key, kind, parent_id, created, updated) "
                                   "VALUES (?1, ?2, ?3, ?4, ?4)"));
        ins.bind(1, std::string_view(key))
            .bind(2, static_cast<std::int64_t>(kind))
            .bind(3, parent_id)
            .bind(4, now_ns());
        STRATA_TRY(ins.run("cannot create snapshot " + q(key)));
        snap.id = sqlite3_last_insert_rowid(conn.handle());
        STRATA_TRY(write_labels(conn, snap.id, labels));
        return snap;
      });
  if (r)
    s_->max_allocated = std::max(s_->max_allocated, r->id);
  return r;
}

Result<Snapshot> Transaction::get_snapshot(const std::string& key) {
  return run<Snapshot>(
      s_.get(), false, "get snapshot", key, [&](Connection& conn) -> Result<Snapshot> {
        auto row = find(conn, key);
        if (!row)
          return std::move(row).error();
        if (!*row)
          return missing(key);
        if ((*row)->kind == Kind::Committed)
          return failed_precondition("metastore: snapshot " + q(key) +
                                     " is committed; only active and view snapshots have mounts");
        STRATA_TRY_ASSIGN(auto pids, parent_ids_of(conn, **row));
        return Snapshot{(*row)->id, (*row)->kind, std::move(pids)};
      });
}

Result<Record> Transaction::get_info(const std::string& key) {
  return run<Record>(s_.get(), false, "stat snapshot", key,
                     [&](Connection& conn) -> Result<Record> {
                       auto row = find(conn, key);
                       if (!row)
                         return std::move(row).error();
                       if (!*row)
                         return missing(key);
                       return load_record(conn, key, **row);
                     });
}

Result<Info> Transaction::update_info(const Info& info,
                                      const std::vector<std::string>& fieldpaths) {
  return run<Info>(
      s_.get(), true, "update snapshot", info.name, [&](Connection& conn) -> Result<Info> {
        if (info.name.empty())
          return invalid_argument("metastore: cannot update a snapshot without a name");
        if (auto st = check_label_paths(fieldpaths); !st)
          return std::move(st).error().wrap("metastore: snapshot " + q(info.name));
        auto row = find(conn, info.name);
        if (!row)
          return std::move(row).error();
        if (!*row)
          return missing(info.name);
        STRATA_TRY_ASSIGN(auto current, labels_of(conn, (*row)->id));
        auto labels = update_labels(current, info.labels, fieldpaths);
        if (!labels)
          return std::move(labels).error().wrap("metastore: snapshot " + q(info.name));
        STRATA_TRY(write_labels(conn, (*row)->id, *labels));
        STRATA_TRY_ASSIGN(auto upd,
                          conn.prepare("UPDATE snapshots SET updated = ?2 WHERE id = ?1"));
        (*row)->updated = now_ns();
        STRATA_TRY(
            upd.bind(1, (*row)->id).bind(2, (*row)->updated).run("cannot update " + q(info.name)));
        STRATA_TRY_ASSIGN(auto rec, load_record(conn, info.name, **row));
        return std::move(rec.info);
      });
}

Result<SnapshotId> Transaction::commit_active(const std::string& key, const std::string& name,
                                              const Usage& usage, const Labels& labels,
                                              const std::string& parent) {
  return run<SnapshotId>(
      s_.get(), true, "commit snapshot", key, [&](Connection& conn) -> Result<SnapshotId> {
        if (key.empty() || name.empty())
          return invalid_argument("metastore: cannot commit " + q(key) + " as " + q(name) +
                                  ": key and name must not be empty");
        auto row = find(conn, key);
        if (!row)
          return std::move(row).error();
        if (!*row)
          return not_found("metastore: cannot commit: active snapshot " + q(key) +
                           " does not exist");
        STRATA_TRY_ASSIGN(auto taken, find(conn, name));
        if (taken)
          return already_exists("metastore: cannot commit " + q(key) + ": snapshot " + q(name) +
                                " already exists (" + lower_kind(taken->kind) + ")");
        Row& r = **row;
        if (r.kind != Kind::Active)
          return failed_precondition("metastore: cannot commit snapshot " + q(key) + ": it is " +
                                     lower_kind(r.kind) + ", not active");
        if (!parent.empty()) {
          if (r.parent_id) {
            STRATA_TRY_ASSIGN(auto current, key_of(conn, *r.parent_id));
            if (current != parent)
              return invalid_argument("metastore: cannot commit " + q(key) + " onto parent " +
                                      q(parent) + ": its parent is " + q(current));
          } else {
            STRATA_TRY_ASSIGN(auto p, find(conn, parent));
            if (!p)
              return not_found("metastore: cannot commit " + q(key) + " onto parent " + q(parent) +
                               ": the parent does not exist");
            if (p->kind != Kind::Committed)
              return failed_precondition("metastore: cannot commit " + q(key) + " onto parent " +
                                         q(parent) + ": the parent is " + lower_kind(p->kind) +
                                         ", not committed");
            r.parent_id = p->id;
          }
        }
        STRATA_TRY_ASSIGN(
            auto upd,
            conn.prepare("UPDATE snapshots SET key = ?2, kind = ?3, parent_id = ?4, "
                         "created = ?5, updated = ?5, size = ?6, inodes = ?7 WHERE id = ?1"));
        upd.bind(1, r.id)
            .bind(2, std::string_view(name))
            .bind(3, static_cast<std::int64_t>(Kind::Committed))
            .bind(4, r.parent_id)
            .bind(5, now_ns())
            .bind(6, usage.size)
            .bind(7, usage.inodes);
        STRATA_TRY(upd.run("cannot commit " + q(key) + " as " + q(name)));
        STRATA_TRY(write_labels(conn, r.id, labels));
        return r.id;
      });
}

Result<Removed> Transaction::remove(const std::string& key) {
  return run<Removed>(
      s_.get(), true, "remove snapshot", key, [&](Connection& conn) -> Result<Removed> {
        STRATA_TRY_ASSIGN(auto row, find(conn, key));
        if (!row)
          return missing(key);
        {
          auto child = conn.prepare("SELECT key FROM snapshots WHERE parent_id = ?1 LIMIT 1");
          if (!child)
            return std::move(child).error();
          child->bind(1, row->id);
          auto has = child->step("cannot look for children of " + q(key));
          if (!has)
            return std::move(has).error();
          if (*has)
            return failed_precondition("metastore: cannot remove snapshot " + q(key) +
                                       " with child: snapshot " + q(child->text(0)) +
                                       " has it as parent; remove its children first");
        }
        STRATA_TRY_ASSIGN(auto del, conn.prepare("DELETE FROM snapshots WHERE id = ?1"));
        if (auto st = write_labels(conn, row->id, {}); !st)
          return std::move(st).error();
        STRATA_TRY(del.bind(1, row->id).run("cannot remove " + q(key)));
        return Removed{row->id, row->kind};
      });
}

Status Transaction::walk(const WalkFn& fn, const std::vector<std::string>& filters) {
  STRATA_TRY_ASSIGN(auto parsed, parse_snapshot_filters(filters));
  // Everything is read first, so that fn may use this transaction while we iterate.
  auto infos = run<std::vector<Info>>(
      s_.get(), false, "walk", "", [&](Connection& conn) -> Result<std::vector<Info>> {
        std::unordered_map<SnapshotId, Labels> labels;
        {
          STRATA_TRY_ASSIGN(auto stmt, conn.prepare("SELECT snapshot_id, name, value FROM labels"));
          for (;;) {
            STRATA_TRY_ASSIGN(auto row, stmt.step("cannot read labels"));
            if (!row)
              break;
            labels[stmt.int64(0)].emplace(stmt.text(1), stmt.text(2));
          }
        }
        auto stmt =
            conn.prepare("SELECT s.id, s.key, s.kind, p.key, s.created, s.updated "
                         "FROM snapshots AS s LEFT JOIN snapshots AS p ON p.id = s.parent_id "
                         "ORDER BY s.key");
        if (!stmt)
          return std::move(stmt).error();
        std::vector<Info> out;
        for (;;) {
          STRATA_TRY_ASSIGN(auto row, stmt->step("cannot list snapshots"));
          if (!row)
            break;
          Info info;
          info.name = stmt->text(1);
          info.kind = kind_from_db(stmt->int64(2));
          info.parent = stmt->text(3);
          info.created = from_ns(stmt->int64(4));
          info.updated = from_ns(stmt->int64(5));
          if (auto it = labels.find(stmt->int64(0)); it != labels.end())
            info.labels = std::move(it->second);
          if (matches(parsed, info))
            out.push_back(std::move(info));
        }
        return out;
      });
  if (!infos)
    return std::move(infos).error();
  try {
    for (const auto& info : *infos)
      STRATA_TRY(fn(info));
  } catch (const std::exception& e) {
    return internal_error("metastore: walk callback threw: " + std::string(e.what()));
  } catch (...) {
    return internal_error("metastore: walk callback threw");
  }
  return {};
}

Result<std::map<SnapshotId, std::string>> Transaction::id_map() {
  using Map = std::map<SnapshotId, std::string>;
  return run<Map>(s_.get(), false, "list ids", "", [&](Connection& conn) -> Result<Map> {
    STRATA_TRY_ASSIGN(auto stmt, conn.prepare("SELECT id, key FROM snapshots"));
    Map out;
    for (;;) {
      STRATA_TRY_ASSIGN(auto row, stmt.step("cannot list snapshot ids"));
      if (!row)
        break;
      out.emplace(stmt.int64(0), stmt.text(1));
    }
    return out;
  });
}

Status Transaction::commit() {
  if (!s_ || !s_->open)
    return failed_precondition(
        "metastore: cannot commit: the transaction has already been committed or rolled back");
  if (auto st = s_->conn->exec("COMMIT", "cannot commit the transaction"); !st) {
    s_->end_rollback();
    return st;
  }
  s_->open = false;
  s_->pool->release(std::move(s_->conn));
  return {};
}

void Transaction::rollback() noexcept {
  if (s_)
    s_->end_rollback();
}

} // namespace strata::metastore
