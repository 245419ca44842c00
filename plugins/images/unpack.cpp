#include "unpack.hpp"

#include <strata/fs/posix.hpp>
#include <strata/plugin/guard.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

namespace strata::images {

namespace {

using Clock = std::chrono::steady_clock;
using State = UnpackProgress::State;

// Progress reports from several applying threads, one at a time, and not for every read: a
// layer's "applying" report is sent once per `step` bytes.
class Reporter {
public:
  Reporter(const std::function<void(const UnpackProgress&)>& fn, const ImageManifest& m)
      : fn_(fn), last_(m.layers.size(), 0) {
    for (const auto& l : m.layers)
      sizes_.push_back(static_cast<std::uint64_t>(std::max<std::int64_t>(l.size, 0)));
  }

  void report(std::size_t layer, State state, std::uint64_t bytes) {
    if (!fn_)
      return;
    std::lock_guard lock(mu_);
    if (state == State::Applying) {
      if (bytes < last_[layer] + step && bytes != sizes_[layer])
        return;
      last_[layer] = bytes;
    }
    fn_(UnpackProgress{layer, state, bytes, sizes_[layer]});
  }

  void done(std::size_t layer, State state) { report(layer, state, sizes_[layer]); }

private:
  static constexpr std::uint64_t step = 256 * 1024;
  const std::function<void(const UnpackProgress&)>& fn_;
  std::mutex mu_;
  std::vector<std::uint64_t> sizes_;
  std::vector<std::uint64_t> last_;
};

// One unpack: the image's layers and where each stands.
class Unpack {
public:
  Unpack(const Image& image, const UnpackOptions& opts, const UnpackEnvironment& env,
         Snapshotter& sn)
      : m_(image.resolved), opts_(opts), env_(env), sn_(sn), reporter_(opts.progress, m_),
        keys_(m_.layers.size()), mounts_(m_.layers.size()) {
    result_.image = image.name;
    result_.snapshotter = opts.snapshotter;
    result_.chain_id = m_.chain_ids.empty() ? std::string() : m_.chain_ids.back();
    result_.sync_fs = opts.sync_fs || env.sync_fs;
    for (std::size_t i = 0; i < m_.layers.size(); ++i)
      result_.layers.push_back({m_.layers[i], m_.diff_ids[i], m_.chain_ids[i], false});
  }

  ~Unpack() {
    // Whatever path out, no active snapshot of ours stays behind.
    for (const auto& key : keys_)
      if (!key.empty())
        (void)sn_.remove(key);
  }

  // The index of the lowest layer whose chain ID is not committed (layers.size(): all are).
  Result<std::size_t> first_missing() {
    for (std::size_t i = m_.chain_ids.size(); i > 0; --i) {
      auto info = sn_.stat(m_.chain_ids[i - 1]);
      if (info) {
        if (info->kind != Kind::Committed)
          return failed_precondition(
              "snapshot " + m_.chain_ids[i - 1] + " in " + opts_.snapshotter + " is " +
              std::string(to_string(info->kind)) +
              ", not committed; a chain ID names the committed snapshot of a layer: remove it");
        return i;
      }
      if (info.error().code() != Code::NotFound)
        return std::move(info).error().wrap("stat of layer " + std::to_string(i - 1));
    }
    return std::size_t(0);
  }

  Result<UnpackResult> run(const std::vector<std::string>& lock_names, ChainLocks& locks) {
    const auto start = Clock::now();
    auto first = first_missing();
    if (!first)
      return std::move(first).error();
    std::unique_ptr<ChainLocks::Held> held;
    if (*first < m_.layers.size()) {
      // Another unpack may be on the same layers: wait for it, then look again.
      held =
          locks.lock({lock_names.begin() + static_cast<std::ptrdiff_t>(*first), lock_names.end()});
      first = first_missing();
      if (!first)
        return std::move(first).error();
    }
    for (std::size_t i = 0; i < *first; ++i)
      reporter_.done(i, State::Exists);
    const std::size_t missing = m_.layers.size() - *first;
    const auto& target = env_.snapshotters.at(opts_.snapshotter);
    result_.parallel =
        opts_.parallel && target.can_rebase && env_.differ_applies_unknown_lowers && missing > 1;
    Status st = result_.parallel ? run_parallel(*first) : run_sequential(*first);
    if (!st)
      return st.error();
    result_.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return result_;
  }

private:
  std::string parent_of(std::size_t i) const { return i == 0 ? "" : m_.chain_ids[i - 1]; }

  std::string layer_name(std::size_t i) const {
    return "layer " + std::to_string(i) + " (" + m_.layers[i].digest + ")";
  }

  Labels labels_of(std::size_t i, bool committed) const {
    Labels l{{unpack_label::snapshot_ref, m_.chain_ids[i]}};
    if (committed)
      l[unpack_label::diff_id] = m_.diff_ids[i];
    return l;
  }

  // Prepares layer i's active snapshot under a fresh random key.
  Status prepare(std::size_t i, const std::string& parent) {
    for (int attempt = 0;; ++attempt) {
      auto suffix = fs::random_hex(8);
      if (!suffix)
        return std::move(suffix).error();
      std::string key = "extract-" + *suffix + " " + m_.chain_ids[i];
      auto mounts = sn_.prepare(key, parent, SnapshotOptions{labels_of(i, false), {}});
      if (mounts) {
        keys_[i] = std::move(key);
        mounts_[i] = std::move(*mounts);
        return {};
      }
      if (mounts.error().code() != Code::AlreadyExists || attempt == 2)
        return std::move(mounts).error().wrap("prepare of " + layer_name(i));
    }
  }

  // Applies layer i onto its active snapshot; `target` says whether its parents are there.
  Status apply(std::size_t i, ApplyTarget target) {
    ApplyOptions aopts;
    aopts.diff_id = m_.diff_ids[i];
    aopts.target = target;
    // The differ syncs what it wrote before returning, so the commit after it never records a
    // layer whose data a power loss could take.
    aopts.sync_fs = result_.sync_fs;
    aopts.progress = [this, i](std::uint64_t bytes) {
      reporter_.report(i, State::Applying, bytes);
    };
    auto applied = env_.differ->apply(m_.layers[i], mounts_[i], aopts);
    if (!applied)
      return std::move(applied).error().wrap("apply of " + layer_name(i));
    // A differ may ignore diff_id (a third-party one, say): check what it says it applied.
    if (applied->digest != m_.diff_ids[i])
      return failed_precondition("wrong diff ID: " + layer_name(i) + " unpacked to " +
                                 applied->digest + ", but the image config says " + m_.diff_ids[i]);
    reporter_.done(i, State::Applied);
    return {};
  }

  Status commit(std::size_t i, bool rebase) {
    SnapshotOptions copts{labels_of(i, true), rebase ? parent_of(i) : std::string()};
    auto st = sn_.commit(m_.chain_ids[i], keys_[i], copts);
    if (!st && st.error().code() != Code::AlreadyExists)
      return st.error().wrap("commit of " + layer_name(i) + " as " + m_.chain_ids[i]);
    if (!st) {
      // A concurrent unpack committed this layer first: ours is surplus.
      (void)sn_.remove(keys_[i]);
    } else {
      result_.layers[i].applied = true;
    }
    keys_[i].clear();
    reporter_.done(i, State::Committed);
    return {};
  }

  // Layer i on top of its committed parent: prepare, apply, commit.
  Status unpack_on_parent(std::size_t i) {
    if (auto st = prepare(i, parent_of(i)); !st)
      return st;
    if (auto st = apply(i, ApplyTarget::Mounts); !st)
      return st;
    return commit(i, false);
  }

  Status run_sequential(std::size_t first) {
    for (std::size_t i = first; i < m_.layers.size(); ++i)
      if (auto st = unpack_on_parent(i); !st)
        return st;
    return {};
  }

  // A layer that cannot be applied without its parents in place (a hardlink to a file of a
  // lower layer) fails with NeedsParent when applied parentless, and one no differ takes
  // parentless with NotImplemented: either is applied again, in order, on top of its committed
  // parent. Any other failure (NotFound for a missing blob, say) is final and stops the layers
  // not started.
  static bool retry_in_order(const Error& e) {
    return e.code() == Code::NeedsParent || e.code() == Code::NotImplemented;
  }

  Status run_parallel(std::size_t first) {
    const std::size_t n = m_.layers.size();
    std::vector<std::size_t> todo;
    for (std::size_t i = first; i < n; ++i) {
      // The bottom layer of what is missing has its parent already: no rebase needed for it.
      if (auto st = prepare(i, i == first ? parent_of(i) : ""); !st)
        return st;
      todo.push_back(i);
    }
    std::vector<Status> outcomes(n);
    std::atomic<std::size_t> next{0};
    std::atomic<bool> failed{false};
    auto worker = [&] {
      for (std::size_t k; (k = next.fetch_add(1)) < todo.size();) {
        const std::size_t i = todo[k];
        if (failed.load()) {
          outcomes[i] = Error(Code::Aborted, "aborted: " + layer_name(i) +
                                                 " was not applied because another layer failed");
          continue;
        }
        outcomes[i] =
            apply(i, i == first ? ApplyTarget::Mounts : ApplyTarget::UpperdirUnknownLowers);
        if (!outcomes[i] && (i == first || !retry_in_order(outcomes[i].error())))
          failed.store(true);
      }
    };
    const std::size_t threads = std::clamp<std::size_t>(env_.max_parallel, 1, todo.size());
    std::vector<std::thread> pool;
    for (std::size_t t = 1; t < threads; ++t)
      pool.emplace_back(worker);
    worker();
    for (auto& t : pool)
      t.join();
    if (failed.load()) {
      std::string message;
      std::optional<Error> first_error;
      for (auto i : todo)
        if (!outcomes[i] && outcomes[i].error().code() != Code::Aborted &&
            (i == first || !retry_in_order(outcomes[i].error()))) {
          if (!first_error)
            first_error = outcomes[i].error();
          else
            message += "; also " + outcomes[i].error().message();
        }
      return Error(first_error->code(), first_error->message() + message);
    }
    for (auto i : todo) {
      if (outcomes[i]) {
        if (auto st = commit(i, i != first); !st)
          return st;
        continue;
      }
      // Its parent is committed now: start this layer over on top of it.
      if (auto st = sn_.remove(keys_[i]); !st)
        return st.error().wrap("removing the parentless attempt at " + layer_name(i));
      keys_[i].clear();
      if (auto st = unpack_on_parent(i); !st)
        return st;
    }
    return {};
  }

  const ImageManifest& m_;
  const UnpackOptions& opts_;
  const UnpackEnvironment& env_;
  Snapshotter& sn_;
  Reporter reporter_;
  std::vector<std::string> keys_; // active keys of ours not yet committed or removed
  std::vector<std::vector<Mount>> mounts_;
  UnpackResult result_;
};

} // namespace

Result<UnpackResult> unpack_image(const Image& image, const UnpackOptions& opts,
                                  const UnpackEnvironment& env, ChainLocks& locks) {
  const auto& m = image.resolved;
  if (!env.differ)
    return unavailable("cannot unpack " + image.name +
                       ": no diff service (strata.service.v1.diff) is loaded; put "
                       "strata-service-diff.so and a differ in a plugin directory");
  auto target = env.snapshotters.find(opts.snapshotter);
  if (target == env.snapshotters.end()) {
    std::string known;
    for (const auto& [id, t] : env.snapshotters)
      known += (known.empty() ? "" : ", ") + id;
    return not_found("snapshotter \"" + opts.snapshotter + "\" is not loaded (loaded: " +
                     (known.empty() ? "none" : known) + "); see `strata plugins ls`");
  }
  if (m.layers.empty())
    return invalid_argument("image " + image.name + " has no layers to unpack");
  if (m.diff_ids.size() != m.layers.size() || m.chain_ids.size() != m.layers.size())
    return failed_precondition("image record " + image.name +
                               " lacks diff IDs or chain IDs for its layers; import it again");
  std::vector<std::string> lock_names;
  for (const auto& c : m.chain_ids)
    lock_names.push_back(opts.snapshotter + "/" + c);
  // std::thread and allocations can throw; nothing may leave the plugin as an exception.
  return guard([&] { return "unpack of " + image.name; },
               [&]() -> Result<UnpackResult> {
                 Unpack unpack(image, opts, env, *target->second.snapshotter);
                 auto result = unpack.run(lock_names, locks);
                 if (!result)
                   return std::move(result).error().wrap("unpack of " + image.name + " into " +
                                                         opts.snapshotter);
                 return result;
               });
}

Result<std::vector<std::string>> remove_unpack_leftovers(Snapshotter& snapshotter) {
  std::vector<std::string> keys;
  auto st = snapshotter.walk(
      [&keys](const Info& info) -> Status {
        if (info.kind == Kind::Active && info.labels.count(unpack_label::snapshot_ref))
          keys.push_back(info.name);
        return {};
      },
      {});
  if (!st)
    return std::move(st).error();
  for (const auto& key : keys)
    if (auto rm = snapshotter.remove(key); !rm && rm.error().code() != Code::NotFound)
      return std::move(rm).error().wrap("removing unpack leftover \"" + key + "\"");
  return keys;
}

} // namespace strata::images
