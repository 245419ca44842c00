// hello: a small but complete snapshotter, built out of tree against the installed strata SDK.
//
// Snapshots live in memory (a map guarded by a mutex); each active or view snapshot gets a
// directory <root>/snapshots/<n> that its bind mount exposes. Directories are numbered, never
// named after keys, because keys may contain '/' and spaces. A snapshot prepared on a parent starts
// as a copy of the parent's directory (cp -a: owners, modes, xattrs, links), and commit keeps the
// active directory as the committed data. Nothing survives a restart of stratad: the point is to
// show the SDK, not durability.
//
// The SDK helpers it uses: strata::guard (no exception leaves a method), strata::update_labels
// (label updates by field path), parse_snapshot_filters/matches (walk filters), and the logger
// from InitContext. It writes nothing to stdout or stderr: errors go back to the caller as values,
// and what no caller receives (a directory left for cleanup) goes to stratad's log.
//
// Build: make (see README.md). Drop strata-snapshotter-hello.so into a plugin directory.

#include <strata/plugin/sdk.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <system_error>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;

// One snapshot: what stat reports, plus the directory holding its data.
struct Entry {
  strata::Info info;
  fs::path dir;
  strata::Usage usage;  // recorded at commit; unused for active and view snapshots
  strata::Usage copied; // what the copy of the parent measured when the snapshot was made
};

// Size and inode count of a directory tree. Errors are skipped rather than reported: usage is
// advisory, and a file removed while we walk must not fail the call.
strata::Usage measure(const fs::path& dir) {
  strata::Usage u;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec)) {
    ++u.inodes;
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      auto size = it->file_size(size_ec);
      if (!size_ec)
        u.size += static_cast<std::int64_t>(size);
    }
  }
  return u;
}

// Usage excludes parents, but hello's directories start as a full copy of the parent: a
// snapshot's own usage is what it grew by since that copy (never below zero, as when it deletes
// parent files).
strata::Usage own(strata::Usage now, const strata::Usage& copied) {
  now.size = std::max<std::int64_t>(0, now.size - copied.size);
  now.inodes = std::max<std::int64_t>(0, now.inodes - copied.inodes);
  return now;
}

// Copies the tree at `from` onto the existing directory `to` (whose own owner, mode and times
// become those of `from`) with cp(1) -a: owners, modes, times, xattrs, symlinks, hard links and
// device nodes, reflinked where the filesystem can. The SDK has no tree copy and a plugin cannot
// link strata's lib/fs, so hello runs the system's cp by absolute path (never one found on PATH)
// with an empty environment, and returns what cp printed as the error instead of letting it reach
// stratad's stderr.
strata::Status copy_tree(const fs::path& from, const fs::path& to) {
  static constexpr const char* cp = "/bin/cp";
  const std::string src = (from / ".").string(), dst = to.string();
  const char* argv[] = {cp,   "-a",        "--reflink=auto", "--no-target-directory",
                        "--", src.c_str(), dst.c_str(),      nullptr};
  char* env[] = {nullptr};
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return strata::internal_error(std::string("hello: pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 1);
  ::posix_spawn_file_actions_adddup2(&actions, out[1], 2);
  pid_t pid = 0;
  int err = ::posix_spawn(&pid, cp, &actions, nullptr, const_cast<char* const*>(argv), env);
  ::posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  std::string said;
  char buf[512];
  for (ssize_t n; err == 0 && (n = ::read(out[0], buf, sizeof buf)) != 0;)
    if (n > 0 && said.size() < 4096)
      said.append(buf, static_cast<std::size_t>(n));
    else if (n < 0 && errno != EINTR)
      break;
  ::close(out[0]);
  if (err != 0)
    return strata::internal_error(std::string("hello: cannot run ") + cp + ": " +
                                  std::strerror(err));
  int status = 0;
  pid_t waited = 0;
  while ((waited = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
  }
  if (waited < 0)
    return strata::internal_error(std::string("hello: cannot wait for ") + cp + ": " +
                                  std::strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!said.empty() && said.back() == '\n')
      said.pop_back();
    return strata::internal_error("hello: cp -a " + src + " " + dst + " failed: " + said);
  }
  return {};
}

class Hello final : public strata::Snapshotter {
public:
  static constexpr strata::PluginSpec spec{
      .type = strata::plugin_type::snapshotter,
      .id = "hello",
      .version = "0.1.0",
      // Every key of the plugin's section with its default; the operator may override them in
      // [plugins."strata.snapshotter.v1.hello"].
      .config = "greeting = \"hello\"\n",
  };

  static strata::InitResult init(strata::InitContext& ic) {
    std::string greeting = "hello";
    if (auto it = ic.config().find("greeting"); it != ic.config().end() && it->value().is_string())
      greeting = std::string(it->value().get_string());

    // The host hands out the path but does not create it: a plugin picks its own mode. 0700,
    // because snapshot contents are container filesystems that other users must not read.
    fs::path snapshots = fs::path(ic.root()) / "snapshots";
    std::error_code ec;
    fs::create_directories(snapshots, ec);
    if (ec)
      return strata::unavailable("hello: cannot create " + snapshots.string() + ": " +
                                 ec.message());
    fs::permissions(ic.root(), fs::perms::owner_all, ec);

    ic.meta().platforms.push_back(strata::Platform::host());
    ic.meta().exports["greeting"] = greeting;
    // Keep the logger: the context is gone after init, the logger lives as long as we hold it.
    std::shared_ptr<strata::Logger> log = ic.logger();
    log->info(greeting + ", snapshots in " + snapshots.string());
    return std::make_shared<Hello>(std::move(snapshots), std::move(log));
  }

  Hello(fs::path snapshots, std::shared_ptr<strata::Logger> log)
      : snapshots_(std::move(snapshots)), log_(std::move(log)) {}

  strata::Result<strata::Info> stat(const std::string& key) override {
    return strata::guard("hello: stat", [&]() -> strata::Result<strata::Info> {
      std::lock_guard lock(mu_);
      auto it = entries_.find(key);
      if (it == entries_.end())
        return missing(key);
      return it->second.info;
    });
  }

  strata::Result<strata::Info> update(const strata::Info& info,
                                      const std::vector<std::string>& fieldpaths) override {
    return strata::guard("hello: update", [&]() -> strata::Result<strata::Info> {
      std::lock_guard lock(mu_);
      auto it = entries_.find(info.name);
      if (it == entries_.end())
        return missing(info.name);
      // A bad path fails before anything changes, so it leaves the snapshot untouched.
      auto labels = strata::update_labels(it->second.info.labels, info.labels, fieldpaths);
      if (!labels)
        return std::move(labels).error().wrap("hello");
      it->second.info.labels = std::move(*labels);
      it->second.info.updated = now();
      return it->second.info;
    });
  }

  strata::Result<strata::Usage> usage(const std::string& key) override {
    return strata::guard("hello: usage", [&]() -> strata::Result<strata::Usage> {
      fs::path dir;
      strata::Usage copied;
      {
        std::lock_guard lock(mu_);
        auto it = entries_.find(key);
        if (it == entries_.end())
          return missing(key);
        switch (it->second.info.kind) {
        case strata::Kind::Committed:
          return it->second.usage;
        case strata::Kind::View:
          return strata::Usage{};
        default:
          dir = it->second.dir;
          copied = it->second.copied;
        }
      }
      // Measured without the lock: walking a large tree must not stall every other call.
      return own(measure(dir), copied);
    });
  }

  strata::Result<std::vector<strata::Mount>> mounts(const std::string& key) override {
    return strata::guard("hello: mounts", [&]() -> strata::Result<std::vector<strata::Mount>> {
      std::lock_guard lock(mu_);
      auto it = entries_.find(key);
      if (it == entries_.end())
        return missing(key);
      if (it->second.info.kind == strata::Kind::Committed)
        return strata::failed_precondition("hello: snapshot \"" + key +
                                           "\" is committed; committed snapshots have no mounts");
      return mounts_of(it->second);
    });
  }

  strata::Result<std::vector<strata::Mount>> prepare(const std::string& key,
                                                     const std::string& parent,
                                                     const strata::SnapshotOptions& opts) override {
    return strata::guard("hello: prepare", [&]() -> strata::Result<std::vector<strata::Mount>> {
      return create(strata::Kind::Active, key, parent, opts);
    });
  }

  strata::Result<std::vector<strata::Mount>> view(const std::string& key, const std::string& parent,
                                                  const strata::SnapshotOptions& opts) override {
    return strata::guard("hello: view", [&]() -> strata::Result<std::vector<strata::Mount>> {
      return create(strata::Kind::View, key, parent, opts);
    });
  }

  strata::Status commit(const std::string& name, const std::string& key,
                        const strata::SnapshotOptions& opts) override {
    return strata::guard("hello: commit", [&]() -> strata::Status {
      std::lock_guard lock(mu_);
      auto it = entries_.find(key);
      if (it == entries_.end())
        return missing(key);
      if (it->second.info.kind != strata::Kind::Active)
        return strata::failed_precondition(
            "hello: snapshot \"" + key + "\" is " +
            (it->second.info.kind == strata::Kind::View ? "a view" : "committed") +
            "; only active snapshots can be committed");
      if (entries_.contains(name))
        return strata::already_exists("hello: snapshot \"" + name + "\" already exists");
      // hello does not declare the "rebase" capability: only the parent it already has is accepted.
      if (!opts.parent.empty() && opts.parent != it->second.info.parent)
        return strata::invalid_argument("hello: cannot commit \"" + key + "\" onto parent \"" +
                                        opts.parent + "\": rebase is not supported");

      Entry committed = std::move(it->second);
      entries_.erase(it);
      committed.info.kind = strata::Kind::Committed;
      committed.info.name = name;
      committed.info.labels = initial_labels(opts);
      committed.info.created = committed.info.updated = now();
      committed.usage = own(measure(committed.dir), committed.copied);
      entries_.emplace(name, std::move(committed));
      return {};
    });
  }

  strata::Status remove(const std::string& key) override {
    return strata::guard("hello: remove", [&]() -> strata::Status {
      fs::path dir;
      {
        std::lock_guard lock(mu_);
        auto it = entries_.find(key);
        if (it == entries_.end())
          return missing(key);
        for (const auto& [child, e] : entries_)
          if (e.info.parent == key)
            return strata::failed_precondition("hello: cannot remove \"" + key + "\": snapshot \"" +
                                               child + "\" is based on it");
        dir = std::move(it->second.dir);
        entries_.erase(it);
      }
      // The snapshot is gone once it leaves the map; a directory that fails to go now is found
      // again by cleanup(), which removes every directory no snapshot owns. The caller sees
      // success, so the log is the only place that says why the space is still in use.
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (ec)
        log_->warn("removed \"" + key + "\", but its directory " + dir.string() +
                   " stays until cleanup: " + ec.message());
      return {};
    });
  }

  strata::Status walk(const strata::WalkFn& fn, const std::vector<std::string>& filters) override {
    return strata::guard("hello: walk", [&]() -> strata::Status {
      // The SDK's parser: the same filter syntax and answers as every other snapshotter.
      auto parsed = strata::parse_snapshot_filters(filters);
      if (!parsed)
        return std::move(parsed).error().wrap("hello");
      // Copy first and call fn without the lock, so fn may call back into this snapshotter.
      std::vector<strata::Info> infos;
      {
        std::lock_guard lock(mu_);
        for (const auto& [_, e] : entries_) // std::map keeps keys in byte order
          if (strata::matches(*parsed, e.info))
            infos.push_back(e.info);
      }
      for (const auto& info : infos)
        if (auto st = fn(info); !st)
          return st;
      return {};
    });
  }

  strata::Status cleanup() override {
    return strata::guard("hello: cleanup", [&]() -> strata::Status {
      std::vector<fs::path> orphans;
      {
        std::lock_guard lock(mu_);
        std::error_code ec;
        for (fs::directory_iterator it(snapshots_, ec), end; !ec && it != end; it.increment(ec)) {
          bool owned = false;
          for (const auto& [_, e] : entries_)
            owned = owned || e.dir == it->path();
          if (!owned)
            orphans.push_back(it->path());
        }
        if (ec)
          return strata::internal_error("hello: cannot list " + snapshots_.string() + ": " +
                                        ec.message());
      }
      for (const auto& dir : orphans) {
        std::error_code ec;
        fs::remove_all(dir, ec);
        if (ec)
          return strata::internal_error("hello: cannot remove " + dir.string() + ": " +
                                        ec.message());
      }
      return {};
    });
  }

private:
  static strata::Timestamp now() { return std::chrono::system_clock::now(); }

  static strata::Error missing(const std::string& key) {
    return strata::not_found("hello: snapshot \"" + key + "\" does not exist");
  }

  // The labels a new or committed snapshot starts with: the requested ones, stored as a
  // whole-map update stores them (empty values are never kept). No field paths cannot fail.
  static strata::Labels initial_labels(const strata::SnapshotOptions& opts) {
    auto labels = strata::update_labels({}, opts.labels, {});
    return labels ? std::move(*labels) : strata::Labels{};
  }

  static std::vector<strata::Mount> mounts_of(const Entry& e) {
    const char* access = e.info.kind == strata::Kind::View ? "ro" : "rw";
    return {strata::Mount{"bind", e.dir.string(), "", {"rbind", access}}};
  }

  // prepare and view: the same checks, then a fresh numbered directory seeded from the parent.
  // The parent is copied under the lock, which keeps its directory from being removed meanwhile;
  // a real snapshotter would not hold a lock across I/O (overlayfs needs no copy at all).
  strata::Result<std::vector<strata::Mount>> create(strata::Kind kind, const std::string& key,
                                                    const std::string& parent,
                                                    const strata::SnapshotOptions& opts) {
    std::lock_guard lock(mu_);
    if (key.empty())
      return strata::invalid_argument("hello: the snapshot key must not be empty");
    if (entries_.contains(key))
      return strata::already_exists("hello: snapshot \"" + key + "\" already exists");
    const Entry* base = nullptr;
    if (!parent.empty()) {
      auto p = entries_.find(parent);
      if (p == entries_.end())
        return strata::not_found("hello: parent \"" + parent + "\" does not exist");
      if (p->second.info.kind != strata::Kind::Committed)
        return strata::invalid_argument("hello: parent \"" + parent +
                                        "\" is not committed; only committed snapshots can be "
                                        "parents");
      base = &p->second;
    }

    fs::path dir = snapshots_ / std::to_string(++next_);
    std::error_code ec;
    if (!fs::create_directory(dir, ec) || ec)
      return strata::internal_error("hello: cannot create " + dir.string() + ": " +
                                    (ec ? ec.message() : "it already exists"));
    // An empty snapshot's root is 0755 whatever stratad's umask is (containerd's native
    // snapshotter does the same); a copy takes the parent root's owner and mode instead.
    fs::permissions(dir,
                    fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                        fs::perms::others_read | fs::perms::others_exec,
                    ec);
    strata::Status seeded =
        ec ? strata::internal_error("hello: cannot chmod " + dir.string() + ": " + ec.message())
           : strata::Status{};
    if (seeded && base)
      seeded = copy_tree(base->dir, dir);
    if (!seeded) {
      // Leave nothing half-done: a snapshot that could not be seeded does not exist.
      std::error_code ignored;
      fs::remove_all(dir, ignored);
      return std::move(seeded).error();
    }

    Entry e;
    e.info.kind = kind;
    e.info.name = key;
    e.info.parent = parent;
    e.info.labels = initial_labels(opts);
    e.info.created = e.info.updated = now();
    if (base)
      e.copied = measure(dir);
    e.dir = std::move(dir);
    auto mounts = mounts_of(e);
    entries_.emplace(key, std::move(e));
    return mounts;
  }

  const fs::path snapshots_;
  const std::shared_ptr<strata::Logger> log_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_; // keys and committed names share one key space
  std::uint64_t next_ = 0;               // last directory number handed out
};

} // namespace

STRATA_PLUGIN(Hello)
