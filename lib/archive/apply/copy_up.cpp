// CopyUp: a hardlink target found in an overlay lower layer is copied into the upperdir before
// the link is made, as overlayfs copies a lower file up on its first write (see copy_up.hpp).

#include "copy_up.hpp"

#include <strata/fs/copy.hpp>
#include <strata/fs/walk.hpp>
#include <strata/plugin/try.hpp>

#include <cerrno>
#include <climits>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <optional>
#include <set>
#include <utility>

namespace strata::archive::detail {

bool is_overlay_whiteout(const struct stat& st) noexcept {
  return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0);
}

namespace {

constexpr int dir_flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

std::vector<std::string> components(std::string_view rel) {
  std::vector<std::string> out;
  for (;;) {
    auto slash = rel.find('/');
    out.emplace_back(rel.substr(0, slash));
    if (slash == std::string_view::npos)
      return out;
    rel.remove_prefix(slash + 1);
  }
}

std::string join_first(const std::vector<std::string>& comps, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i)
    out += (i ? "/" : "") + comps[i];
  return out;
}

Result<fs::UniqueFd> dup_fd(int fd) {
  fs::UniqueFd out(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!out)
    return fs::sys_error("cannot duplicate a directory descriptor", errno);
  return out;
}

bool has_opaque_xattr(int dirfd, const std::string& xattr) {
  char v[2] = {};
  return ::fgetxattr(dirfd, xattr.c_str(), v, sizeof v) == 1 && v[0] == 'y';
}

using fs::Node;

// Owner (unless no_same_owner), xattrs (after the chown, which drops security.capability;
// overlayfs' own, the lower's opaque marker, origin or redirect, must not describe the copy;
// refusals follow the apply's xattr policy), then the mode unless `mode` is false, then the
// times unless `times` is false.
Status copy_attrs(const Node& from, const Node& to, const struct stat& st, const std::string& shown,
                  const ApplyOptions& opts, bool mode, bool times) {
  fs::AttrCopy what;
  if (!opts.no_same_owner)
    what.owner = {st.st_uid, st.st_gid};
  what.xattrs = fs::XattrCopy{
      .skip_prefixes = {"trusted.overlay.", "user.overlay."},
      .skip_refused = opts.unsupported_xattrs == XattrPolicy::SkipWithWarning,
      .warn = opts.warn,
      .refused_hint = "set the xattr policy to skip to ignore it",
  };
  what.mode = mode;
  what.times = times;
  return fs::copy_attrs(from, to, st, shown, what);
}

enum class Seen { Absent, Here, Hidden };

// What hides a path in a layer (Seen::Hidden).
enum class HiddenBy { Whiteout, Symlink, NonDirectory };

// What one layer says about a path.
struct Look {
  Seen seen = Seen::Absent;
  // Why the path is hidden (Hidden), or the opaque ancestor (Absent and opaque).
  std::string why;
  bool opaque = false;
  // Hidden: by what, and the index of the component that hides the path.
  HiddenBy by = HiddenBy::Whiteout;
  std::size_t hidden_at = 0;
  // Here: the layer's directory holding the target (the layer itself, or `held`).
  int dir = -1;
  fs::UniqueFd held;
  struct stat st {};
};

// What the path names: a file to copy up (its last component must not be a directory) or a
// directory whose attributes are wanted (every component must be one).
enum class Want { File, Directory };

// Walks `comps` below the layer directory `layer` with O_NOFOLLOW, one component at a time.
// `dirs[i]` receives this layer's open directory for component i (an ancestor, or with
// Want::Directory also the last) where none is set yet (overlayfs takes a merged directory's
// attributes from the topmost layer holding it).
Result<Look> look(int layer, const std::string& layer_name, const std::vector<std::string>& comps,
                  const std::string& opaque_xattr, std::vector<fs::UniqueFd>* dirs,
                  Want want = Want::File) {
  Look out;
  int cur = layer;
  for (std::size_t i = 0; i < comps.size(); ++i) {
    const std::string at = join_first(comps, i + 1);
    struct stat st {};
    if (::fstatat(cur, comps[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT)
        return out;
      return fs::sys_error("cannot stat \"" + at + "\" in " + layer_name, errno);
    }
    if (is_overlay_whiteout(st)) {
      out.seen = Seen::Hidden;
      out.hidden_at = i;
      out.why = "a whiteout at \"" + at + "\" in " + layer_name;
      return out;
    }
    if (i + 1 == comps.size() && want == Want::File) {
      if (S_ISDIR(st.st_mode))
        return invalid_argument("\"" + at + "\" is a directory in " + layer_name +
                                ": directories cannot be hardlinked");
      out.seen = Seen::Here;
      out.dir = cur;
      out.st = st;
      return out;
    }
    if (!S_ISDIR(st.st_mode)) {
      out.seen = Seen::Hidden;
      out.hidden_at = i;
      out.by = S_ISLNK(st.st_mode) ? HiddenBy::Symlink : HiddenBy::NonDirectory;
      out.why = S_ISLNK(st.st_mode) ? "a symlink at \"" + at + "\" in " + layer_name +
                                          " (hardlink targets are never resolved through "
                                          "symlinks of other layers)"
                                    : "a non-directory at \"" + at + "\" in " + layer_name;
      return out;
    }
    fs::UniqueFd next(::openat(cur, comps[i].c_str(), dir_flags));
    if (!next)
      return fs::sys_error("cannot open directory \"" + at + "\" in " + layer_name, errno);
    if (!out.opaque && has_opaque_xattr(next.get(), opaque_xattr)) {
      out.opaque = true;
      out.why = "the opaque directory \"" + at + "\" in " + layer_name;
    }
    if (dirs && !(*dirs)[i]) {
      STRATA_TRY_ASSIGN(auto d, dup_fd(next.get()));
      (*dirs)[i] = std::move(d);
    }
    out.held = std::move(next);
    cur = out.held.get();
  }
  // Want::Directory: every component is a directory of this layer.
  out.seen = Seen::Here;
  out.dir = cur;
  return out;
}

// Removes what a failed copy-up made, deepest first, unless dismissed.
class Undo {
public:
  Undo() = default;
  Undo(const Undo&) = delete;
  Undo& operator=(const Undo&) = delete;
  ~Undo() {
    for (auto it = made_.rbegin(); it != made_.rend(); ++it)
      ::unlinkat(it->dir, it->name.c_str(), it->flags);
  }
  void add(int dir, std::string name, int flags) { made_.push_back({dir, std::move(name), flags}); }
  void dismiss() noexcept { made_.clear(); }

private:
  struct Made {
    int dir;
    std::string name;
    int flags;
  };
  std::vector<Made> made_;
};

// Copies the target that `from` found in `layer_name` into the root, making its missing
// parent directories with the attributes of `dirs`; returns the root's directory holding it.
Result<fs::UniqueFd> copy_into(const fs::Root& root, Look& from, const std::string& layer_name,
                               const std::vector<std::string>& comps,
                               std::vector<fs::UniqueFd>& dirs, const ApplyOptions& opts) {
  std::vector<fs::UniqueFd> chain; // the root's directories down to the target's parent
  // Declared after the fds it names, so that it runs while they are still open.
  Undo undo;
  std::vector<std::size_t> made; // indexes into chain (and dirs) of the directories made
  int cur = root.fd();
  for (std::size_t i = 0; i + 1 < comps.size(); ++i) {
    const std::string at = join_first(comps, i + 1);
    const std::string shown = "directory \"" + at + "\" of " + layer_name;
    fs::UniqueFd next(::openat(cur, comps[i].c_str(), dir_flags));
    if (!next && errno == ENOENT) {
      const mode_t first_mode = dirs[i] ? 0700 : 0755;
      if (::mkdirat(cur, comps[i].c_str(), first_mode) != 0)
        return fs::sys_error("cannot create directory \"" + at + "\"", errno);
      undo.add(cur, comps[i], AT_REMOVEDIR);
      next = fs::UniqueFd(::openat(cur, comps[i].c_str(), dir_flags));
      if (next && dirs[i]) {
        struct stat st {};
        if (::fstat(dirs[i].get(), &st) != 0)
          return fs::sys_error("cannot stat " + shown, errno);
        // Mode and times once the target exists: a read-only directory would refuse it, and
        // creating it would move the times.
        if (auto a = copy_attrs(Node{dirs[i].get(), -1, {}}, Node{next.get(), -1, {}}, st, shown,
                                opts, false, false);
            !a)
          return a.error();
        made.push_back(i);
      } else if (next && ::fchmod(next.get(), 0755) != 0) {
        return fs::sys_error("cannot chmod directory \"" + at + "\"", errno);
      }
    }
    if (!next)
      return fs::sys_error("cannot open directory \"" + at + "\"", errno);
    chain.push_back(std::move(next));
    cur = chain.back().get();
  }

  const std::string& base = comps.back();
  const std::string shown = "\"" + join_first(comps, comps.size()) + "\" of " + layer_name;
  const Node src{-1, from.dir, base};
  const Node dst{-1, cur, base};
  const struct stat& st = from.st;
  if (S_ISREG(st.st_mode)) {
    // O_NONBLOCK: should the file have become a fifo meanwhile, the open does not hang.
    fs::UniqueFd in(::openat(from.dir, base.c_str(),
                             O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!in)
      return fs::sys_error("cannot open " + shown, errno);
    struct stat now {};
    if (::fstat(in.get(), &now) != 0)
      return fs::sys_error("cannot stat " + shown, errno);
    if (!S_ISREG(now.st_mode) || now.st_ino != st.st_ino || now.st_dev != st.st_dev)
      return unavailable(shown + " changed while it was being copied up");
    fs::UniqueFd out(
        ::openat(cur, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out)
      return fs::sys_error("cannot create the copy of " + shown, errno);
    undo.add(cur, base, 0);
    STRATA_TRY(fs::copy_file(in.get(), out.get(), shown));
    if (auto a = copy_attrs(Node{in.get(), -1, {}}, Node{out.get(), -1, {}}, now, shown, opts, true,
                            true);
        !a)
      return a.error();
  } else if (S_ISLNK(st.st_mode)) {
    char target[PATH_MAX + 1];
    ssize_t n = ::readlinkat(from.dir, base.c_str(), target, sizeof target);
    if (n < 0)
      return fs::sys_error("cannot read the symlink " + shown, errno);
    if (static_cast<std::size_t>(n) >= sizeof target)
      return invalid_argument("the symlink " + shown + " has a target longer than PATH_MAX");
    target[n] = '\0';
    if (::symlinkat(target, cur, base.c_str()) != 0)
      return fs::sys_error("cannot create the copy of " + shown, errno);
    undo.add(cur, base, 0);
    STRATA_TRY(copy_attrs(src, dst, st, shown, opts, false, true));
  } else {
    // Devices, fifos and sockets: a new node of the same type and number.
    if (::mknodat(cur, base.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) != 0)
      return fs::sys_error("cannot create the copy of " + shown, errno);
    undo.add(cur, base, 0);
    STRATA_TRY(copy_attrs(src, dst, st, shown, opts, true, true));
  }

  // The directories made: mode and times last, deepest first (setting a directory's times
  // leaves its parent's alone).
  for (auto it = made.rbegin(); it != made.rend(); ++it) {
    const std::string at = join_first(comps, *it + 1);
    struct stat dst_st {};
    if (::fstat(dirs[*it].get(), &dst_st) != 0)
      return fs::sys_error("cannot stat directory \"" + at + "\" of " + layer_name, errno);
    const struct timespec t[2] = {dst_st.st_atim, dst_st.st_mtim};
    if (::fchmod(chain[*it].get(), dst_st.st_mode & 07777) != 0 ||
        ::futimens(chain[*it].get(), t) != 0)
      return fs::sys_error("cannot set the mode and times of directory \"" + at + "\"", errno);
  }
  undo.dismiss();
  if (chain.empty())
    return dup_fd(root.fd());
  return std::move(chain.back());
}

} // namespace

Status CopyUp::open_parents() {
  if (opened_)
    return {};
  std::vector<fs::Root> roots;
  for (const auto& p : opts_.parents) {
    if (p.empty() || p.front() != '/')
      return invalid_argument("lower layer \"" + p + "\" is not an absolute path");
    auto r = fs::Root::open(p);
    if (!r)
      return std::move(r).error().wrap("lower layer");
    roots.push_back(std::move(*r));
  }
  parents_ = std::move(roots);
  opened_ = true;
  return {};
}

Result<fs::UniqueFd> CopyUp::target_dir(std::string_view rel) {
  const std::vector<std::string> comps = components(rel);
  // What this layer has written (and whatever else the upperdir holds) hides the lower layers.
  STRATA_TRY_ASSIGN(auto up, look(root_.fd(), "the upperdir", comps, opts_.opaque_xattr, nullptr));
  if (up.seen == Seen::Here)
    return dup_fd(up.dir);
  if (up.seen == Seen::Hidden)
    return not_found("hidden by " + up.why);
  if (up.opaque)
    return not_found("not in the upperdir, and " + up.why + " hides the lower layers");
  if (opts_.parents_unknown)
    return needs_parent("not in the upperdir, and the layers below are unknown (an apply without "
                        "parents): apply the layer onto its parent");
  if (opts_.parents.empty())
    return not_found("not in the upperdir, and no lower layers were given");
  STRATA_TRY(open_parents());

  std::vector<fs::UniqueFd> dirs(comps.size() - 1);
  for (auto& parent : parents_) {
    const std::string name = "lower layer " + parent.path();
    STRATA_TRY_ASSIGN(auto l, look(parent.fd(), name, comps, opts_.opaque_xattr, &dirs));
    if (l.seen == Seen::Here)
      return copy_into(root_, l, name, comps, dirs, opts_);
    if (l.seen == Seen::Hidden)
      return not_found("hidden by " + l.why);
    if (l.opaque)
      return not_found("not in the upperdir nor in the lower layers down to " + parent.path() +
                       ", and " + l.why + " hides the deeper ones");
  }
  return not_found("not in the upperdir nor in any of its " + std::to_string(parents_.size()) +
                   " lower layers");
}

Result<fs::UniqueFd> CopyUp::make_dirs(std::string_view rel) {
  if (opts_.whiteouts != WhiteoutMode::Overlay)
    return root_.make_dirs(rel, 0755);
  // Filled on the first directory made: for each component of rel, the directory of the
  // topmost layer below the upperdir that shows it in the merged view (empty: none does).
  std::optional<MergedDirs> merged;
  std::vector<std::string> comps;
  auto adopt = [&](int fd, std::string_view made) -> Status {
    if (!merged) {
      comps = components(rel);
      STRATA_TRY_ASSIGN(auto found, merged_dirs(comps));
      merged = std::move(found);
    }
    const std::size_t i = components(made).size() - 1;
    if (!merged->upper_hides && i == merged->blocked_at)
      return invalid_argument(
          "cannot create directory \"" + std::string(rel) + "\": \"" + std::string(made) +
          "\" is " + (merged->blocked_by_symlink ? "a symlink" : "not a directory") +
          " in a lower layer, and a directory made over it in the upperdir would replace it" +
          (merged->blocked_by_symlink ? " (a layer diff never descends a symlink)" : ""));
    auto& sources = merged->dirs;
    if (i >= sources.size() || !sources[i]) {
      if (opts_.parents_unknown && !merged->upper_hides)
        return needs_parent("directory \"" + std::string(made) +
                            "\" is implied by the layer but not in it, and the layers below are "
                            "unknown (an apply without parents): apply the layer onto its parent");
      return {}; // in no layer below: a new directory, as the mkdir made it
    }
    struct stat st {};
    const std::string shown = "directory \"" + std::string(made) + "\" of a lower layer";
    if (::fstat(sources[i].get(), &st) != 0)
      return fs::sys_error("cannot stat " + shown, errno);
    // Owner, xattrs and mode, as overlayfs copies a lower directory up before creating in it.
    // Not the times: creating the entries below moves them anyway, in overlayfs too.
    return copy_attrs(Node{sources[i].get(), -1, {}}, Node{fd, -1, {}}, st, shown, opts_, true,
                      false);
  };
  auto dir = root_.make_dirs(rel, 0755, adopt);
  if (dir || dir.error().code() != Code::InvalidArgument)
    return dir;
  // A component is not a directory: if it is this layer's whiteout, the directory comes back.
  STRATA_TRY_ASSIGN(auto reopened, reopen_whited_out_dir(rel));
  if (!reopened)
    return dir;
  merged.reset();
  return root_.make_dirs(rel, 0755, adopt);
}

Result<bool> CopyUp::reopen_whited_out_dir(std::string_view rel) {
  const std::vector<std::string> comps = components(rel);
  STRATA_TRY_ASSIGN(auto cur, dup_fd(root_.fd()));
  for (std::size_t i = 0; i < comps.size(); ++i) {
    const std::string at = join_first(comps, i + 1);
    struct stat st {};
    if (::fstatat(cur.get(), comps[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno == ENOENT ? false : Result<bool>(fs::sys_error("cannot stat " + at, errno));
    if (is_overlay_whiteout(st)) {
      if (::unlinkat(cur.get(), comps[i].c_str(), 0) != 0 ||
          ::mkdirat(cur.get(), comps[i].c_str(), 0755) != 0)
        return fs::sys_error("cannot replace the whiteout \"" + at + "\" by a directory", errno);
      fs::UniqueFd made(::openat(cur.get(), comps[i].c_str(), dir_flags));
      if (!made)
        return fs::sys_error("cannot open directory \"" + at + "\"", errno);
      // It replaces a directory this layer removed: nothing below may show through.
      if (::fsetxattr(made.get(), opts_.opaque_xattr.c_str(), "y", 1, 0) != 0)
        return fs::sys_error("cannot set " + opts_.opaque_xattr + " on \"" + at + "\"", errno);
      return true;
    }
    if (!S_ISDIR(st.st_mode))
      return false;
    fs::UniqueFd next(::openat(cur.get(), comps[i].c_str(), dir_flags));
    if (!next)
      return fs::sys_error("cannot open directory \"" + at + "\"", errno);
    cur = std::move(next);
  }
  return false;
}

Result<CopyUp::Shown> CopyUp::lower_shows(std::string_view rel) {
  if (rel.empty())
    return Shown{Shows::Directory, {}};
  if (opts_.parents_unknown)
    return needs_parent("\"" + std::string(rel) +
                        "\" may be in a layer below, and the layers below are unknown (an apply "
                        "without parents): apply the layer onto its parent");
  STRATA_TRY(open_parents());
  const std::vector<std::string> comps = components(rel);
  for (auto& parent : parents_) {
    STRATA_TRY_ASSIGN(auto l, look(parent.fd(), "lower layer " + parent.path(), comps,
                                   opts_.opaque_xattr, nullptr, Want::Directory));
    if (l.seen == Seen::Here)
      return Shown{Shows::Directory, {}};
    if (l.seen == Seen::Hidden) {
      if (l.by == HiddenBy::Whiteout)
        return Shown{Shows::Absent, {}};
      return Shown{l.by == HiddenBy::Symlink ? Shows::Symlink : Shows::NonDirectory,
                   join_first(comps, l.hidden_at + 1)};
    }
    if (l.opaque)
      return Shown{Shows::Absent, {}}; // deeper layers are hidden
  }
  return Shown{Shows::Absent, {}};
}

Result<std::vector<std::string>> CopyUp::lower_root_names() {
  if (opts_.parents_unknown)
    return needs_parent("an opaque marker at the layer root must hide every entry of the layers "
                        "below, and they are unknown (an apply without parents): apply the layer "
                        "onto its parent");
  STRATA_TRY(open_parents());
  std::set<std::string> names;
  for (auto& parent : parents_) {
    STRATA_TRY_ASSIGN(auto listed,
                      fs::list_dir(parent.fd(), "the root of lower layer " + parent.path()));
    names.insert(listed.begin(), listed.end());
  }
  return std::vector<std::string>(names.begin(), names.end());
}

Result<CopyUp::MergedDirs> CopyUp::merged_dirs(const std::vector<std::string>& comps) {
  MergedDirs out;
  out.dirs.resize(comps.size());
  out.blocked_at = comps.size();
  // An opaque directory of the upperdir on the path hides every lower layer below it.
  STRATA_TRY_ASSIGN(auto up, look(root_.fd(), "the upperdir", comps, opts_.opaque_xattr, nullptr,
                                  Want::Directory));
  if (up.opaque || up.seen == Seen::Hidden) {
    out.upper_hides = true;
    return out;
  }
  if (opts_.parents_unknown || opts_.parents.empty())
    return out;
  STRATA_TRY(open_parents());
  for (auto& parent : parents_) {
    STRATA_TRY_ASSIGN(auto l, look(parent.fd(), "lower layer " + parent.path(), comps,
                                   opts_.opaque_xattr, &out.dirs, Want::Directory));
    if (l.seen == Seen::Hidden && l.by != HiddenBy::Whiteout && !out.dirs[l.hidden_at]) {
      out.blocked_at = l.hidden_at;
      out.blocked_by_symlink = l.by == HiddenBy::Symlink;
    }
    if (l.seen == Seen::Hidden || l.opaque)
      break; // deeper layers are hidden from here down (what was found above still counts)
  }
  return out;
}

} // namespace strata::archive::detail
