// BlockfileSnapshotter: what a snapshot's image file is, how it mounts, how big it is and how it
// is sealed at commit. Everything else is lib/snapdir's.
#include "snapshotter.hpp"

#include "image.hpp"
#include "scratch.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/usage.hpp>
#include <strata/mount/loop.hpp>
#include <strata/mount/temp.hpp>
#include <strata/plugin/try.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <fcntl.h>
#include <limits>
#include <sys/xattr.h>
#include <unistd.h>

namespace strata::blockfile {
namespace {

using metastore::SnapshotId;
using snapdir::q;

Result<std::uint64_t> unshared_bytes(int fd, const std::string& image) {
  auto u = fs::extent_usage(fd);
  if (!u)
    return std::move(u).error().wrap("image " + image);
  return saturating_minus(u->allocated, u->shared);
}

// What a copied image held right after the copy (baseline_xattr).
struct Baseline {
  std::uint64_t unshared = 0; // allocated bytes of the image not shared with another file
  FsUse use;                  // what its filesystem had in use
};

// The image's baseline; zeros when it has none (a filesystem without user xattrs: usage then
// counts the whole copy, which is what it costs there).
Baseline read_baseline(int fd) {
  char buf[96];
  ssize_t n = ::fgetxattr(fd, baseline_xattr, buf, sizeof buf);
  Baseline b;
  if (n <= 0)
    return b;
  const char* p = buf;
  const char* end = buf + n;
  for (std::uint64_t* field : {&b.unshared, &b.use.bytes, &b.use.inodes}) {
    auto r = std::from_chars(p, end, *field);
    if (r.ec != std::errc() || (r.ptr != end && *r.ptr != ' '))
      return Baseline{};
    p = r.ptr == end ? end : r.ptr + 1;
  }
  return b;
}

// A mounted image changes under its mount: committing one would record a moving target.
Status check_not_attached(const std::string& image) {
  fs::UniqueFd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd)
    return fs::sys_error("image " + image, errno);
  STRATA_TRY_ASSIGN(auto loops, mount::loops_backed_by(fd.get()));
  if (!loops.empty())
    return failed_precondition("image " + image + " is still attached to " + loops.front().device +
                               " (mounted?): unmount the snapshot before committing it");
  return {};
}

} // namespace

BlockfileSnapshotter::BlockfileSnapshotter(std::string root, Config config,
                                           metastore::MetaStore store, std::shared_ptr<Logger> log)
    : DirSnapshotter(std::move(root), snapdir::Params{"blockfile snapshotter", false},
                     std::move(store), std::move(log)),
      config_(std::move(config)) {}

Result<std::shared_ptr<BlockfileSnapshotter>>
BlockfileSnapshotter::open(const std::string& root, Config config, Reconciled* report,
                           std::shared_ptr<Logger> log) {
  return guard([&] { return "blockfile snapshotter: open " + q(root); },
               [&]() -> Result<std::shared_ptr<BlockfileSnapshotter>> {
                 STRATA_TRY_ASSIGN(auto store, open_store(root, "blockfile snapshotter"));
                 std::shared_ptr<BlockfileSnapshotter> s(new BlockfileSnapshotter(
                     root, std::move(config), std::move(store), std::move(log)));
                 STRATA_TRY(s->reconcile(report));
                 return s;
               });
}

Status BlockfileSnapshotter::populate(const snapdir::Creating& c) {
  const metastore::Snapshot& s = c.snapshot;
  if (s.kind == Kind::View && !s.parent_ids.empty()) {
    // Mounted from the parent's image; the placeholder keeps snapshots/<id> meaning "exists".
    fs::UniqueFd fd(::open(c.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd)
      return fs::sys_error("snapshot " + q(c.key) + ": cannot create " + c.path, errno);
    return {};
  }
  const std::string from =
      s.parent_ids.empty() ? scratch_path(root()) : snapshot_path(s.parent_ids.front());
  if (Status st = copy_image(from, c.path); !st)
    return st.error().wrap("snapshot " + q(c.key));
  fs::UniqueFd fd(::open(c.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    return fs::sys_error("snapshot " + q(c.key) + ": cannot open " + c.path, errno);
  STRATA_TRY_ASSIGN(std::uint64_t unshared, unshared_bytes(fd.get(), c.path));
  STRATA_TRY_ASSIGN(FsUse use, fs_use(c.path, type_of(c.path)));
  const std::string text =
      std::to_string(unshared) + " " + std::to_string(use.bytes) + " " + std::to_string(use.inodes);
  if (::fsetxattr(fd.get(), baseline_xattr, text.data(), text.size(), 0) != 0 && errno != ENOTSUP)
    return fs::sys_error(
        "snapshot " + q(c.key) + ": cannot set " + baseline_xattr + " on " + c.path, errno);
  return {};
}

FsType BlockfileSnapshotter::type_of(const std::string& image) const {
  auto t = read_fs_type(image);
  return t.ok() && t->has_value() ? **t : config_.fs_type;
}

Mount BlockfileSnapshotter::mount_of(const std::string& image, bool writable) const {
  return image_mount(image, type_of(image), config_.mount_options, writable);
}

std::vector<Mount> BlockfileSnapshotter::build_mounts(const metastore::Snapshot& s,
                                                      const Labels&) const {
  if (s.kind == Kind::Active)
    return {mount_of(snapshot_path(s.id), true)};
  // A view: of its parent's image, or (parentless) of its own copy of the scratch.
  const SnapshotId image = s.parent_ids.empty() ? s.id : s.parent_ids.front();
  return {mount_of(snapshot_path(image), false)};
}

Result<Usage> BlockfileSnapshotter::measure(const metastore::Snapshot& s) const {
  const std::string image = snapshot_path(s.id);
  fs::UniqueFd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd)
    return fs::sys_error("cannot open image " + image, errno);
  STRATA_TRY_ASSIGN(std::uint64_t unshared, unshared_bytes(fd.get(), image));
  STRATA_TRY_ASSIGN(FsUse use, fs_use(image, type_of(image)));
  const Baseline base = read_baseline(fd.get());
  // Two lower bounds of what the snapshot added, the larger wins: extents it no longer shares
  // (exact on a filesystem that reflinks, where rewriting a parent's block costs a block), and
  // what its filesystem uses beyond the copy (new data landing in image blocks that the copy
  // already allocated, which a plain copy's extent map cannot see).
  const std::uint64_t bytes = std::max(saturating_minus(unshared, base.unshared),
                                       saturating_minus(use.bytes, base.use.bytes));
  constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  auto clamp = [&](std::uint64_t v) { return static_cast<std::int64_t>(v < max ? v : max); };
  return Usage{clamp(bytes), clamp(saturating_minus(use.inodes, base.use.inodes))};
}

Status BlockfileSnapshotter::seal(SnapshotId id) const {
  const std::string image = snapshot_path(id);
  STRATA_TRY(check_not_attached(image));
  // Replayed here, while the image still belongs to the active snapshot: once committed it is
  // only ever mounted read-only (any number of views at once), and a read-only loop device
  // cannot replay a journal (ext4: "recovery required on readonly filesystem"). Doing it at view
  // time instead would write into a committed image under the feet of views already mounted.
  STRATA_TRY_ASSIGN(bool dirty, may_need_recovery(image, type_of(image)));
  if (dirty)
    if (Status st = mount::with_temp_mount({mount_of(image, true)},
                                           [](const std::string&) { return Status{}; });
        !st)
      return st.error().wrap("replaying the journal of " + image);
  fs::UniqueFd fd(::open(image.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd)
    return fs::sys_error("cannot open image " + image, errno);
  if (::fsync(fd.get()) != 0)
    return fs::sys_error("cannot fsync image " + image, errno);
  return {};
}

} // namespace strata::blockfile
