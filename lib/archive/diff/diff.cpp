// write_diff(): a double walk of two trees in byte order of names, writing what changed.

#include "strata/archive/diff.hpp"
#include "strata/plugin/try.hpp"

#include "tar_writer.hpp"
#include "tree_entry.hpp"

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <fcntl.h>
#include <map>
#include <unistd.h>
#include <unordered_set>

namespace strata::archive {

namespace {

using detail::TreeEntry;

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

bool same_metadata(const TreeEntry& a, const TreeEntry& b) {
  return a.st.st_mode == b.st.st_mode && a.st.st_uid == b.st.st_uid && a.st.st_gid == b.st.st_gid &&
         a.xattrs == b.xattrs &&
         ((!S_ISCHR(a.st.st_mode) && !S_ISBLK(a.st.st_mode)) || a.st.st_rdev == b.st.st_rdev);
}

using InodeKey = std::pair<dev_t, ino_t>;

bool is_socket(const TreeEntry& e) {
  return S_ISSOCK(e.st.st_mode);
}

class TreeDiff {
public:
  TreeDiff(detail::TarWriter& out, const DiffOptions& opts, int upper_root)
      : out_(out), opts_(opts), upper_root_(upper_root) {}

  Status walk(const std::string& rel, int lfd, int ufd) {
    auto lnames = detail::sorted_names(lfd, "lower/" + rel);
    if (!lnames)
      return lnames.error();
    auto unames = detail::sorted_names(ufd, "upper/" + rel);
    if (!unames)
      return unames.error();
    auto li = lnames->begin(), ui = unames->begin();
    while (li != lnames->end() || ui != unames->end()) {
      Status st;
      if (ui == unames->end() || (li != lnames->end() && *li < *ui)) {
        st = deleted(rel, *li++);
      } else if (li == lnames->end() || *ui < *li) {
        st = added(rel, ufd, *ui++);
      } else {
        st = both(rel, lfd, ufd, *ui);
        ++li, ++ui;
      }
      if (!st)
        return st;
    }
    return {};
  }

private:
  // A directory present in both trees on the way down to the current one; written only when
  // something below it (or itself) changed.
  struct Parent {
    std::string rel;
    TreeEntry entry;
    bool written = false;
  };

  Status deleted(const std::string& rel, const std::string& name) {
    STRATA_TRY(flush_parents());
    // A deleted directory is one whiteout: its children go with it.
    return out_.whiteout(join(rel, ".wh." + name));
  }

  Status added(const std::string& rel, int ufd, const std::string& name) {
    const std::string path = join(rel, name);
    auto ue = detail::read_entry(ufd, name, "upper/" + path);
    if (!ue)
      return ue.error();
    if (is_socket(*ue))
      return {}; // sockets have no place in a layer
    STRATA_TRY(emit(path, *ue, ufd, name));
    if (!ue->is_dir())
      return {};
    auto child = detail::open_dir(ufd, name, "upper/" + path);
    if (!child)
      return child.error();
    return walk(path, -1, child->get());
  }

  Status both(const std::string& rel, int lfd, int ufd, const std::string& name) {
    const std::string path = join(rel, name);
    auto le = detail::read_entry(lfd, name, "lower/" + path);
    if (!le)
      return le.error();
    auto ue = detail::read_entry(ufd, name, "upper/" + path);
    if (!ue)
      return ue.error();
    if ((le->st.st_mode & S_IFMT) != (ue->st.st_mode & S_IFMT)) {
      // A socket cannot be written, but what it replaced must still go.
      if (is_socket(*ue))
        return deleted(rel, name);
      return added(rel, ufd, name); // a new type replaces the old entry (and its children)
    }
    if (is_socket(*ue))
      return {};
    if (ue->is_dir()) {
      parents_.push_back(Parent{path, *ue, false});
      Status st = same_metadata(*le, *ue) ? Status{} : flush_parents();
      if (st) {
        auto lchild = detail::open_dir(lfd, name, "lower/" + path);
        auto uchild = detail::open_dir(ufd, name, "upper/" + path);
        if (!lchild)
          st = lchild.error();
        else if (!uchild)
          st = uchild.error();
        else
          st = walk(path, lchild->get(), uchild->get());
      }
      parents_.pop_back();
      return st;
    }
    auto changed = modified(*le, *ue, lfd, ufd, name, path);
    if (!changed)
      return changed.error();
    if (*changed)
      return emit(path, *ue, ufd, name);
    if (ue->st.st_nlink > 1)
      return unchanged_link(path, *ue);
    return {};
  }

  Result<bool> modified(const TreeEntry& le, const TreeEntry& ue, int lfd, int ufd,
                        const std::string& name, const std::string& path) {
    if (!same_metadata(le, ue) || le.st.st_size != ue.st.st_size ||
        le.link_target != ue.link_target)
      return true;
    if (le.st.st_mtim.tv_sec != ue.st.st_mtim.tv_sec)
      return true;
    if (le.st.st_mtim.tv_nsec != ue.st.st_mtim.tv_nsec) {
      if (le.st.st_mtim.tv_nsec != 0 && ue.st.st_mtim.tv_nsec != 0)
        return true;
    }
    // Equal to the second: times truncated by tar prove nothing, so compare the bytes.
    if (ue.is_reg() && (le.st.st_mtim.tv_nsec == 0 || ue.st.st_mtim.tv_nsec == 0) &&
        ue.st.st_size > 0) {
      auto same = detail::same_content(lfd, name, ufd, name, path);
      if (!same)
        return same.error();
      return !*same;
    }
    return false;
  }

  // An unchanged path that shares its inode with a changed one must become a link entry to it,
  // or the apply side would lose the link.
  Status unchanged_link(const std::string& path, const TreeEntry& ue) {
    const InodeKey key{ue.st.st_dev, ue.st.st_ino};
    if (auto it = sources_.find(key); it != sources_.end())
      return link_entry(path, ue, it->second);
    waiting_[key].emplace_back(path, ue);
    return {};
  }

  Status emit(const std::string& path, const TreeEntry& ue, int dirfd, const std::string& base) {
    STRATA_TRY(flush_parents());
    if (ue.is_dir()) {
      emitted_dirs_.insert(path);
      return out_.entry(path, ue, mtime(ue), dirfd, base);
    }
    if (ue.st.st_nlink < 2)
      return out_.entry(path, ue, mtime(ue), dirfd, base);
    const InodeKey key{ue.st.st_dev, ue.st.st_ino};
    if (auto it = sources_.find(key); it != sources_.end())
      return out_.entry(path, ue, mtime(ue), -1, {}, it->second);
    STRATA_TRY(out_.entry(path, ue, mtime(ue), dirfd, base));
    sources_.emplace(key, path);
    if (auto it = waiting_.find(key); it != waiting_.end()) {
      auto links = std::move(it->second);
      waiting_.erase(it);
      for (const auto& [link, entry] : links)
        STRATA_TRY(link_entry(link, entry, path));
    }
    return {};
  }

  // A link entry for an unchanged path, which may sit in a directory the walk already left:
  // its ancestors are written first like those of any other entry.
  Status link_entry(const std::string& path, const TreeEntry& e, const std::string& source) {
    STRATA_TRY(flush_parents());
    STRATA_TRY(ensure_ancestors(path));
    return out_.entry(path, e, mtime(e), -1, {}, source);
  }

  // Unchanged directories above a change are written first, so the change lands in a
  // directory with the right owner and mode.
  Status flush_parents() {
    for (auto& p : parents_) {
      if (p.written)
        continue;
      p.written = true;
      if (!emitted_dirs_.insert(p.rel).second)
        continue; // written by ensure_ancestors()
      if (auto st = out_.entry(p.rel, p.entry, mtime(p.entry), -1, {}); !st)
        return st;
    }
    return {};
  }

  // Writes the directories above `path` not written yet, reading them from the upper tree
  // (fd-relative, never following a symlink).
  Status ensure_ancestors(const std::string& path) {
    fs::UniqueFd dir(::fcntl(upper_root_, F_DUPFD_CLOEXEC, 0));
    if (!dir)
      return fs::sys_error("cannot duplicate the upper tree's descriptor", errno);
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      const std::string rel = path.substr(0, slash);
      const std::string name =
          rel.substr(rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/') + 1);
      if (!emitted_dirs_.count(rel)) {
        auto e = detail::read_entry(dir.get(), name, "upper/" + rel);
        if (!e)
          return e.error();
        if (!e->is_dir())
          return internal_error("upper/" + rel + " stopped being a directory during the diff");
        if (auto st = out_.entry(rel, *e, mtime(*e), -1, {}); !st)
          return st;
        emitted_dirs_.insert(rel);
      }
      auto next = detail::open_dir(dir.get(), name, "upper/" + rel);
      if (!next)
        return next.error();
      dir = std::move(*next);
    }
    return {};
  }

  std::int64_t mtime(const TreeEntry& e) const {
    std::int64_t t = e.st.st_mtim.tv_sec;
    if (opts_.source_date_epoch) {
      auto epoch = std::chrono::duration_cast<std::chrono::seconds>(
                       opts_.source_date_epoch->time_since_epoch())
                       .count();
      if (t > epoch)
        t = epoch;
    }
    return t;
  }

  detail::TarWriter& out_;
  const DiffOptions& opts_;
  int upper_root_;
  std::vector<Parent> parents_;
  std::unordered_set<std::string> emitted_dirs_;
  std::map<InodeKey, std::string> sources_;
  std::map<InodeKey, std::vector<std::pair<std::string, TreeEntry>>> waiting_;
};

Result<fs::UniqueFd> open_root(const std::string& path, const char* which) {
  fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    return fs::sys_error(std::string("diff: cannot open the ") + which + " tree " + path, errno);
  return fd;
}

} // namespace

Result<DiffResult> write_diff(const std::string& lower, const std::string& upper,
                              const contentio::Sink& out, const DiffOptions& opts) {
  if (opts.source_date_epoch)
    STRATA_TRY(check_source_date_epoch(*opts.source_date_epoch, "diff: source_date_epoch"));
  fs::UniqueFd lfd;
  if (!lower.empty()) {
    STRATA_TRY_ASSIGN(auto l, open_root(lower, "lower"));
    lfd = std::move(l);
  }
  STRATA_TRY_ASSIGN(auto ufd, open_root(upper, "upper"));
  detail::TarWriter writer(out);
  TreeDiff diff(writer, opts, ufd.get());
  if (auto st = diff.walk("", lfd ? lfd.get() : -1, ufd.get()); !st)
    return st.error().wrap("diff " + (lower.empty() ? "(empty)" : lower) + " -> " + upper);
  STRATA_TRY(writer.close());
  DiffResult r;
  r.size = writer.size();
  r.entries = writer.entries();
  r.digest = writer.digest();
  return r;
}

Result<std::optional<Timestamp>> source_date_epoch_from_env() {
  const char* v = std::getenv("SOURCE_DATE_EPOCH");
  if (!v || !*v)
    return std::optional<Timestamp>();
  std::string_view s(v);
  std::int64_t secs = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), secs);
  if (ec == std::errc::result_out_of_range)
    secs = -1; // out of range either way: refused with the range below
  else if (ec != std::errc() || end != s.data() + s.size())
    return invalid_argument("SOURCE_DATE_EPOCH=\"" + std::string(s) +
                            "\" is not a non-negative number of seconds since 1970");
  STRATA_TRY_ASSIGN(auto t,
                    source_date_epoch_of(secs, "SOURCE_DATE_EPOCH=\"" + std::string(s) + "\""));
  return std::optional<Timestamp>(t);
}

} // namespace strata::archive
