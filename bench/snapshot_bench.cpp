// snapshot-bench: times the overlay snapshotter (linked directly, as tests/overlay does) for
// bench/snapshot_bench.py. Two modes, each printing one JSON object on stdout:
//
//   latency --root DIR --existing N --ops M
//     Tops DIR up to N committed snapshots, then times M rounds of prepare / commit / remove of
//     one fresh snapshot on top of an existing one. Baseline, interleaved with the rounds: one
//     bare SQLite WAL commit (synchronous=FULL, as lib/metastore) in DIR.
//   benchsuite --root DIR
//     containerd's core/snapshots/benchsuite workload (16 layers of 10 files of 1 MiB, created,
//     updated in place or removed by layer index) through real mounts, then a view of the top
//     mounted and read. Baseline: the same writes into one plain directory in DIR.
//
// Nothing here asserts timings; the driver turns the numbers into ratios.

#include "config.hpp"
#include "probe.hpp"
#include "snapshotter.hpp"

#include <strata/mount/mount.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <map>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using strata::overlay::OverlaySnapshotter;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "snapshot-bench: %s\n", msg.c_str());
  std::exit(1);
}

template <class R> void check(const R& r, const std::string& what) {
  if (!r.ok())
    die(what + ": " + r.error().to_string());
}

void check_errno(bool ok, const std::string& what) {
  if (!ok)
    die(what + ": " + std::strerror(errno));
}

// Opens the snapshotter as the plugin's init would: probe first, so the mounts are built for what
// overlay can really do on this filesystem.
std::shared_ptr<OverlaySnapshotter> open_snapshotter(const std::string& root) {
  check_errno(::mkdir(root.c_str(), 0700) == 0 || errno == EEXIST, "cannot create " + root);
  auto probed = strata::overlay::probe(root);
  check(probed, "probing overlay on " + root);
  if (probed->unsupported)
    die("overlay does not work on " + root + ": " + *probed->unsupported);
  auto s = OverlaySnapshotter::open(root, strata::overlay::Config{}, probed->features);
  check(s, "opening the snapshotter at " + root);
  return *s;
}

std::string stats_json(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  const double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  // Nearest rank: the smallest sample with at least 99% of the samples at or below it.
  const std::size_t rank = static_cast<std::size_t>(std::ceil(0.99 * static_cast<double>(n)));
  const double p99 = v[std::max<std::size_t>(rank, 1) - 1];
  char buf[160];
  std::snprintf(buf, sizeof buf, R"({"median_ms": %.4f, "p99_ms": %.4f, "max_ms": %.4f, "n": %zu})",
                median, p99, v.back(), n);
  return buf;
}

// The durability floor of the metastore: one transaction of one small row in a WAL database with
// synchronous=FULL, which costs one fsync of the WAL file, the same as the metastore's commit.
class WalBaseline {
public:
  explicit WalBaseline(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK)
      die("cannot open " + path + ": " + sqlite3_errmsg(db_));
    exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
         "CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT NOT NULL);");
    if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO t (k, v) VALUES (?, ?)", -1, &insert_,
                           nullptr) != SQLITE_OK)
      die(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
  }
  ~WalBaseline() {
    sqlite3_finalize(insert_);
    sqlite3_close(db_);
  }
  WalBaseline(const WalBaseline&) = delete;
  WalBaseline& operator=(const WalBaseline&) = delete;

  double commit_once(int k) {
    const auto t0 = Clock::now();
    exec("BEGIN IMMEDIATE");
    sqlite3_bind_int(insert_, 1, k % 1000); // a bounded table, like a bounded snapshot count
    sqlite3_bind_text(insert_, 2, "a small record of about the size of a snapshot row", -1,
                      SQLITE_STATIC);
    if (sqlite3_step(insert_) != SQLITE_DONE)
      die(std::string("sqlite insert: ") + sqlite3_errmsg(db_));
    sqlite3_reset(insert_);
    exec("COMMIT");
    return ms_since(t0);
  }

private:
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      die(std::string("sqlite: ") + sql + ": " + msg);
    }
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
};

double fsync_dir_once(const std::string& dir) {
  const auto t0 = Clock::now();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check_errno(fd >= 0, "cannot open " + dir);
  check_errno(::fsync(fd) == 0, "cannot fsync " + dir);
  ::close(fd);
  return ms_since(t0);
}

std::string existing_name(long i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "existing-%06ld", i);
  return buf;
}

int latency(const std::string& root, long existing, long ops, long warmup) {
  check_errno(::mkdir(root.c_str(), 0700) == 0 || errno == EEXIST, "cannot create " + root);
  auto snap = open_snapshotter(root + "/overlay");

  // Committed snapshots without a parent, all siblings: what grows with the count is the
  // metadata (rows, index depth, the snapshots/ directory), which is what the aim is about. A
  // chain would instead make every prepare on top of it build a lowerdir list as long as the
  // chain, which overlay caps at 500 layers and containerd's images never reach.
  long have = 0;
  check(snap->walk(
            [&](const strata::Info& info) -> strata::Status {
              if (info.kind == strata::Kind::Committed && info.name.starts_with("existing-"))
                ++have;
              return {};
            },
            {}),
        "walk");
  const long had = have;
  const auto populate0 = Clock::now();
  for (; have < existing; ++have) {
    const std::string name = existing_name(have);
    check(snap->prepare(name + "-active", "", {}), "prepare " + name);
    check(snap->commit(name, name + "-active", {}), "commit " + name);
  }
  const double populate_s = ms_since(populate0) / 1000.0;
  if (have == 0)
    die("no committed snapshot to use as parent: --existing must be at least 1");

  WalBaseline wal(root + "/overlay/baseline-wal.db");
  const std::string parent = existing_name(0);
  const std::string snapshots_dir = root + "/overlay/snapshots";
  std::vector<double> prep, comm, rem, base, dirsync;
  const std::string tag = std::to_string(::getpid());
  for (long i = 0; i < warmup + ops; ++i) {
    const std::string name = "round-" + tag + "-" + std::to_string(i);
    const std::string key = name + "-active";
    auto t0 = Clock::now();
    check(snap->prepare(key, parent, {}), "prepare " + key);
    const double p = ms_since(t0);
    t0 = Clock::now();
    check(snap->commit(name, key, {}), "commit " + name);
    const double c = ms_since(t0);
    t0 = Clock::now();
    check(snap->remove(name), "remove " + name);
    const double r = ms_since(t0);
    // Baselines between rounds, so that load drift on a shared machine hits both alike.
    const double b = wal.commit_once(static_cast<int>(i));
    const double d = fsync_dir_once(snapshots_dir);
    if (i < warmup)
      continue;
    prep.push_back(p);
    comm.push_back(c);
    rem.push_back(r);
    base.push_back(b);
    dirsync.push_back(d);
  }
  check(snap->close(), "close");
  std::printf("{\"mode\": \"latency\", \"existing\": %ld, \"created\": %ld, \"populate_s\": %.3f, "
              "\"ops\": %ld,\n \"prepare\": %s,\n \"commit\": %s,\n \"remove\": %s,\n"
              " \"baseline_wal_commit\": %s,\n \"dir_fsync\": %s}\n",
              have, have - had, populate_s, ops, stats_json(prep).c_str(), stats_json(comm).c_str(),
              stats_json(rem).c_str(), stats_json(base).c_str(), stats_json(dirsync).c_str());
  return 0;
}

// --- benchsuite --------------------------------------------------------------------------------

constexpr std::size_t kFileSize = 1 << 20;
constexpr int kLayers = 16;

// One step of a layer, as containerd's makeApplier: create a random file, change 4 bytes in the
// middle of an existing one (a copy-up of the whole file on overlay), or remove one.
enum class Op { Create, Update, Remove };
struct Step {
  Op op;
  char file;
};

// containerd's layer patterns by 1-based layer index (benchsuite/benchmark_test.go).
std::vector<Step> layer_steps(int index) {
  const Op C = Op::Create, U = Op::Update, R = Op::Remove;
  if (index % 3 == 0)
    return {{U, 'a'}, {U, 'b'}, {C, 'c'}, {U, 'd'}, {C, 'f'},
            {U, 'e'}, {R, 'g'}, {C, 'h'}, {U, 'i'}, {C, 'j'}};
  if (index % 2 == 0)
    return {{U, 'a'}, {C, 'b'}, {R, 'c'}, {C, 'd'}, {U, 'e'},
            {R, 'f'}, {C, 'g'}, {U, 'h'}, {C, 'i'}, {U, 'j'}};
  std::vector<Step> all;
  for (char f = 'a'; f <= 'j'; ++f)
    all.push_back({C, f});
  return all;
}

// Random bytes made before any timing, so that generating them is timed in neither run; each
// file is a different window of the pool.
std::vector<unsigned char> make_pool() {
  std::vector<unsigned char> pool(4 * kFileSize);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (auto& b : pool) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<unsigned char>(x >> 32);
  }
  return pool;
}

struct Counts {
  int created = 0, updated = 0, removed = 0;
};

void apply_layer(const std::string& dir, int index, const std::vector<unsigned char>& pool,
                 Counts& counts) {
  int n = 0;
  for (const Step& s : layer_steps(index)) {
    const std::string path = dir + "/" + s.file;
    ++n;
    switch (s.op) {
    case Op::Create: {
      const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0777);
      check_errno(fd >= 0, "cannot create " + path);
      const std::size_t off = static_cast<std::size_t>(index * 10 + n) * 4099 % (3 * kFileSize);
      check_errno(::write(fd, pool.data() + off, kFileSize) == static_cast<ssize_t>(kFileSize),
                  "cannot write " + path);
      ::close(fd);
      ++counts.created;
      break;
    }
    case Op::Update: {
      const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
      check_errno(fd >= 0, "cannot open " + path);
      struct stat st {};
      check_errno(::fstat(fd, &st) == 0, "cannot stat " + path);
      const unsigned char bytes[4] = {static_cast<unsigned char>(index), 1, 2, 3};
      check_errno(::pwrite(fd, bytes, sizeof bytes, st.st_size / 2) == sizeof bytes,
                  "cannot update " + path);
      ::close(fd);
      ++counts.updated;
      break;
    }
    case Op::Remove:
      check_errno(::unlink(path.c_str()) == 0 || errno == ENOENT, "cannot remove " + path);
      ++counts.removed;
      break;
    }
  }
}

// Reads every regular file directly in `dir`; returns bytes read and counts the files.
long long read_all(const std::string& dir, int& files) {
  std::vector<char> buf(kFileSize);
  long long total = 0;
  DIR* d = ::opendir(dir.c_str());
  check_errno(d != nullptr, "cannot read " + dir);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d))
    if (e->d_type == DT_REG)
      names.emplace_back(e->d_name);
  ::closedir(d);
  for (const std::string& n : names) {
    const int fd = ::open((dir + "/" + n).c_str(), O_RDONLY | O_CLOEXEC);
    check_errno(fd >= 0, "cannot open " + dir + "/" + n);
    ssize_t got;
    while ((got = ::read(fd, buf.data(), buf.size())) > 0)
      total += got;
    check_errno(got == 0, "cannot read " + dir + "/" + n);
    ::close(fd);
    ++files;
  }
  return total;
}

double syncfs_once(const std::string& dir) {
  const auto t0 = Clock::now();
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  check_errno(fd >= 0, "cannot open " + dir);
  check_errno(::syncfs(fd) == 0, "cannot syncfs " + dir);
  ::close(fd);
  return ms_since(t0);
}

std::string list_json(const std::vector<double>& v) {
  std::string s = "[";
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? ", " : "", v[i]);
    s += buf;
  }
  return s + "]";
}

double sum(const std::vector<double>& v) {
  double s = 0;
  for (double x : v)
    s += x;
  return s;
}

std::string make_temp_dir(const std::string& parent) {
  std::string tmpl = parent + "/mnt-XXXXXX";
  check_errno(::mkdtemp(tmpl.data()) != nullptr, "cannot create a directory in " + parent);
  return tmpl;
}

int benchsuite(const std::string& root) {
  const auto pool = make_pool();
  check_errno(::mkdir(root.c_str(), 0700) == 0 || errno == EEXIST, "cannot create " + root);

  // Baseline first: the same layers applied one after another to one plain directory, each
  // followed by a syncfs, which is what unmounting a writable overlay does to its upper
  // filesystem (ovl_sync_fs), so that "unmount" has a counterpart here.
  const std::string plain = root + "/plain";
  check_errno(::mkdir(plain.c_str(), 0755) == 0, "cannot create " + plain);
  std::vector<double> plain_write, plain_sync;
  Counts plain_counts;
  for (int l = 1; l <= kLayers; ++l) {
    auto t0 = Clock::now();
    apply_layer(plain, l, pool, plain_counts);
    plain_write.push_back(ms_since(t0));
    plain_sync.push_back(syncfs_once(plain));
  }
  int plain_files = 0;
  auto t0 = Clock::now();
  const long long plain_bytes = read_all(plain, plain_files);
  const double plain_read = ms_since(t0);

  auto snap = open_snapshotter(root + "/overlay");
  std::vector<double> prepare, mount_write, unmount, commit;
  Counts counts;
  std::string parent;
  for (int l = 1; l <= kLayers; ++l) {
    const std::string key = "layer-" + std::to_string(l) + "-active";
    const std::string name = "layer-" + std::to_string(l);
    t0 = Clock::now();
    auto mounts = snap->prepare(key, parent, {});
    prepare.push_back(ms_since(t0));
    check(mounts, "prepare " + key);

    t0 = Clock::now();
    const std::string target = make_temp_dir(root);
    check(strata::mount::mount_all(*mounts, target), "mount " + key);
    apply_layer(target, l, pool, counts);
    mount_write.push_back(ms_since(t0));

    t0 = Clock::now();
    check(strata::mount::unmount_mounts(*mounts, target), "unmount " + key);
    check_errno(::rmdir(target.c_str()) == 0, "cannot remove " + target);
    unmount.push_back(ms_since(t0));

    t0 = Clock::now();
    check(snap->commit(name, key, {}), "commit " + name);
    commit.push_back(ms_since(t0));
    parent = name;
  }

  // The final check of containerd's test suite: a view of the top layer, mounted and read.
  t0 = Clock::now();
  auto view = snap->view("top-view", parent, {});
  const double view_ms = ms_since(t0);
  check(view, "view of " + parent);
  t0 = Clock::now();
  const std::string target = make_temp_dir(root);
  check(strata::mount::mount_all(*view, target), "mount the view");
  const double view_mount_ms = ms_since(t0);
  int files = 0;
  t0 = Clock::now();
  const long long bytes = read_all(target, files);
  const double read_ms = ms_since(t0);
  t0 = Clock::now();
  check(strata::mount::unmount_mounts(*view, target), "unmount the view");
  check_errno(::rmdir(target.c_str()) == 0, "cannot remove " + target);
  const double view_unmount_ms = ms_since(t0);
  if (files != plain_files || bytes != plain_bytes)
    die("the view has " + std::to_string(files) + " files of " + std::to_string(bytes) +
        " bytes, the plain directory " + std::to_string(plain_files) + " of " +
        std::to_string(plain_bytes));
  check(snap->close(), "close");

  std::printf(
      "{\"mode\": \"benchsuite\", \"layers\": %d, \"file_ops\": {\"created\": %d, \"updated\": "
      "%d, \"removed\": %d},\n"
      " \"total_ms\": {\"prepare\": %.3f, \"mount_write\": %.3f, \"unmount\": %.3f, "
      "\"commit\": %.3f, \"view\": %.3f, \"view_mount\": %.3f, \"read\": %.3f, "
      "\"view_unmount\": %.3f},\n"
      " \"final\": {\"files\": %d, \"bytes\": %lld},\n"
      " \"baseline_total_ms\": {\"write\": %.3f, \"syncfs\": %.3f, \"read\": %.3f},\n"
      " \"per_layer_ms\": {\"prepare\": %s, \"mount_write\": %s, \"unmount\": %s, \"commit\": %s, "
      "\"baseline_write\": %s, \"baseline_syncfs\": %s}}\n",
      kLayers, counts.created, counts.updated, counts.removed, sum(prepare), sum(mount_write),
      sum(unmount), sum(commit), view_ms, view_mount_ms, read_ms, view_unmount_ms, files, bytes,
      sum(plain_write), sum(plain_sync), plain_read, list_json(prepare).c_str(),
      list_json(mount_write).c_str(), list_json(unmount).c_str(), list_json(commit).c_str(),
      list_json(plain_write).c_str(), list_json(plain_sync).c_str());
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: snapshot-bench latency --root DIR --existing N --ops M [--warmup W]\n"
               "       snapshot-bench benchsuite --root DIR\n"
               "DIR must be an absolute path on a filesystem where overlay works (not tmpfs or\n"
               "overlayfs). latency keeps the snapshots it made, so a later run with a larger N\n"
               "only adds the difference. Prints one JSON object.\n");
  return 2;
}

} // namespace

int main(int argc, char** argv) {
  if (argc < 2)
    return usage();
  const std::string mode = argv[1];
  std::map<std::string, std::string> opts;
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc || std::strncmp(argv[i], "--", 2) != 0)
      return usage();
    opts[argv[i] + 2] = argv[i + 1];
  }
  const std::string root = opts["root"];
  if (root.empty() || root.front() != '/')
    return usage();
  if (mode == "latency") {
    const long existing = std::atol(opts["existing"].c_str());
    const long ops = std::atol(opts["ops"].c_str());
    const long warmup = opts.contains("warmup") ? std::atol(opts["warmup"].c_str()) : 5;
    if (existing < 1 || ops < 1 || warmup < 0)
      return usage();
    return latency(root, existing, ops, warmup);
  }
  if (mode == "benchsuite")
    return benchsuite(root);
  return usage();
}
