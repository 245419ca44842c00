// apply(): the tar loop, OCI whiteouts, and directory times at the end.

#include "strata/archive/apply.hpp"

#include "entry_writer.hpp"
#include <strata/archive/tar_reader.hpp>

#include <strata/fs/root.hpp>
#include <strata/fs/walk.hpp>
#include <strata/plugin/try.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <unordered_set>
#include <vector>

namespace strata::archive {

namespace {

constexpr std::string_view whiteout_prefix = ".wh.";
constexpr std::string_view opaque_marker = ".wh..wh..opq";

std::string join(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

class Applier {
public:
  Applier(const fs::Root& root, const ApplyOptions& opts)
      : root_(root), opts_(opts), writer_(root, opts) {}

  Status entry(TarReader& tar, archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    if (!raw || !*raw)
      return invalid_argument("tar entry without a name");
    auto rel = fs::clean_relative(raw);
    if (!rel)
      return rel.error();
    if (rel->empty())
      return {}; // the root itself keeps the caller's metadata
    if (opts_.max_total_bytes > 0) {
      total_ += static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0));
      if (total_ > opts_.max_total_bytes)
        return Error(Code::ResourceExhausted, "layer entries add up to more than the limit of " +
                                                  std::to_string(opts_.max_total_bytes) + " bytes");
    }
    auto [parent, base] = fs::split_parent(*rel);
    if (base.substr(0, whiteout_prefix.size()) == whiteout_prefix)
      return whiteout(std::string(parent), std::string(base), e);

    detail::DirTimes times{};
    STRATA_TRY(writer_.write(tar, e, *rel, &times));
    if (!times.rel.empty())
      dir_times_.push_back(times);
    if (archive_entry_filetype(e) == AE_IFLNK && !archive_entry_hardlink(e))
      links_written_.insert(*rel);
    mark_written(*rel);
    return {};
  }

  // Directory times last: creating children changed them. In tar order, so that of two
  // entries for one directory the later wins; setting a child's times leaves its parent's
  // alone. A directory removed since, or replaced by a symlink, is skipped.
  Status finish_dirs() {
    for (const auto& d : dir_times_) {
      auto fd = root_.open_at(d.rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!fd)
        continue;
      if (::futimens(fd->get(), d.times) != 0)
        return fs::sys_error("cannot set the times of directory " + d.rel, errno);
    }
    return {};
  }

private:
  // Paths this archive wrote, and their ancestors: whiteouts only hide what lower layers left,
  // so an entry of the same layer survives a whiteout wherever the two appear in the tar.
  void mark_written(const std::string& rel) {
    std::string_view p = rel;
    while (!p.empty() && written_.insert(std::string(p)).second)
      p = fs::split_parent(p).first;
  }

  // What the path `parent` is in the root, walked component by component without following.
  enum class Way { Directory, Missing, NonDirectory, Symlink };
  struct Walked {
    Way way = Way::Directory;
    std::string at;      // NonDirectory, Symlink: the component's path
    bool opaque = false; // Overlay mode: a directory on the way carries the opaque xattr
  };
  Result<Walked> walk(const std::string& parent) const {
    Walked out;
    // One descriptor at a time, whatever the depth.
    fs::UniqueFd cur(::fcntl(root_.fd(), F_DUPFD_CLOEXEC, 0));
    if (!cur)
      return fs::sys_error("cannot duplicate the root's descriptor", errno);
    const bool overlay = opts_.whiteouts == WhiteoutMode::Overlay;
    for (std::size_t begin = 0; begin < parent.size();) {
      std::size_t end = parent.find('/', begin);
      if (end == std::string::npos)
        end = parent.size();
      const std::string name = parent.substr(begin, end - begin);
      out.at = parent.substr(0, end);
      struct stat st {};
      if (::fstatat(cur.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT)
          return fs::sys_error("cannot stat \"" + out.at + "\"", errno);
        out.way = Way::Missing;
        return out;
      }
      if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
        out.way = S_ISLNK(st.st_mode) ? Way::Symlink : Way::NonDirectory;
        return out;
      }
      fs::UniqueFd next(
          ::openat(cur.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next)
        return fs::sys_error("cannot open directory \"" + out.at + "\"", errno);
      if (overlay && !out.opaque) {
        char v[2] = {};
        out.opaque =
            ::fgetxattr(next.get(), opts_.opaque_xattr.c_str(), v, sizeof v) == 1 && v[0] == 'y';
      }
      cur = std::move(next);
      begin = end + 1;
    }
    out.at = parent;
    return out;
  }

  static Error below_symlink(const std::string& entry, const std::string& link) {
    return invalid_argument("whiteout \"" + entry + "\" is below \"" + link +
                            "\", a symlink of a lower layer: a layer diff never descends a "
                            "symlink, and following it would hide entries elsewhere");
  }

  // What a whiteout for `parent`'s entries does: nothing (below a non-directory, or where no
  // directory is), hide what the directory holds (Remove mode, or an upperdir directory that
  // hides the layers below itself: one carrying the opaque xattr, or one no lower layer has),
  // or also leave overlay markers because a lower directory shows through. Below a symlink the
  // layer was not made against this tree, unless this layer wrote the link (it then replaced
  // whatever was there, and whiteouts act first).
  enum class Act { Nothing, Hide, HideAndMark };
  Result<Act> act_of_whiteout(const std::string& parent, const std::string& entry) {
    STRATA_TRY_ASSIGN(auto w, walk(parent));
    const bool overlay = opts_.whiteouts == WhiteoutMode::Overlay;
    switch (w.way) {
    case Way::NonDirectory:
      return Act::Nothing;
    case Way::Symlink:
      if (links_written_.count(w.at))
        return Act::Nothing;
      return below_symlink(entry, w.at);
    case Way::Directory:
      if (!overlay)
        return Act::Hide;
      if (w.opaque)
        return Act::Hide;
      // The layers below are unknown: a directory of this layer may cover a lower one.
      if (opts_.parents_unknown)
        return Act::HideAndMark;
      break;
    case Way::Missing:
      if (!overlay || w.opaque)
        return Act::Nothing;
      break;
    }
    STRATA_TRY_ASSIGN(auto lower, writer_.copy_up().lower_shows(parent));
    const bool in_lower = lower.shows == detail::CopyUp::Shows::Directory;
    if (w.way == Way::Directory) // a marker there would show as a device: nothing to hide
      return in_lower ? Act::HideAndMark : Act::Hide;
    if (lower.shows == detail::CopyUp::Shows::Symlink)
      return below_symlink(entry, lower.at);
    return in_lower ? Act::HideAndMark : Act::Nothing;
  }

  // The directory `parent` for a whiteout that acts on it, made in an upperdir when only a
  // lower layer has it.
  Result<fs::UniqueFd> whiteout_dir(const std::string& parent) {
    if (opts_.whiteouts == WhiteoutMode::Overlay)
      return writer_.make_dirs(parent);
    return root_.open_at(parent, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  }

  Status whiteout(const std::string& parent, const std::string& base, archive_entry* e) {
    // Whiteouts remove entries, which may be the directory the writer has cached.
    writer_.forget_parent();
    const std::string entry = join(parent, base);
    if (base == opaque_marker) {
      auto act = act_of_whiteout(parent, entry);
      if (!act || *act == Act::Nothing)
        return act ? Status() : Status(std::move(act).error());
      STRATA_TRY(whiteout_dir(parent));
      return hide_lower(parent);
    }
    const std::string name = base.substr(whiteout_prefix.size());
    if (name.empty() || name == "." || name == "..")
      return invalid_argument("invalid whiteout name \"" + base +
                              "\": it must name an entry of its own directory");
    const std::string target = join(parent, name);
    auto act = act_of_whiteout(parent, entry);
    if (!act || *act == Act::Nothing)
      return act ? Status() : Status(std::move(act).error());
    STRATA_TRY_ASSIGN(auto dir, whiteout_dir(parent));
    if (written_.count(target)) {
      // Whiteouts act before the layer's own entries, wherever they are in the tar: what this
      // layer wrote at `target` stays, and of a directory only that.
      struct stat st {};
      if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
        return hide_lower(target);
      return {};
    }
    STRATA_TRY(fs::remove_all_at(dir.get(), name, target));
    if (*act != Act::HideAndMark)
      return {};
    if (::mknodat(dir.get(), name.c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0)
      return fs::sys_error("cannot create the overlay whiteout for " + target, errno);
    if (!opts_.no_same_owner &&
        ::fchownat(dir.get(), name.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0)
      return fs::sys_error("cannot chown the overlay whiteout for " + target, errno);
    return {};
  }

  // Hides every entry below the directory `top` that this archive did not write, at any depth:
  // what layers below left goes (Remove mode), or in an upperdir the opaque xattr hides the
  // lower layers and what the upperdir holds that this archive did not write (files copied up
  // for hardlinks, an earlier apply's entries) goes. overlayfs ignores the opaque xattr on an
  // upperdir's root, so at the root each entry of a lower layer's root gets a whiteout instead,
  // and each directory of this archive there the xattr.
  Status hide_lower(const std::string& top) {
    const bool overlay = opts_.whiteouts == WhiteoutMode::Overlay;
    std::vector<std::string> todo{top};
    while (!todo.empty()) {
      const std::string dir_rel = std::move(todo.back());
      todo.pop_back();
      STRATA_TRY_ASSIGN(auto dir, root_.open_at(dir_rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
      const bool at_root = top.empty();
      const bool mark = overlay && (at_root ? !dir_rel.empty() && dir_rel.find('/') == dir_rel.npos
                                            : dir_rel == top);
      if (mark && ::fsetxattr(dir.get(), opts_.opaque_xattr.c_str(), "y", 1, 0) != 0)
        return fs::sys_error("cannot set " + opts_.opaque_xattr + " on \"" + dir_rel + "\"", errno);
      STRATA_TRY_ASSIGN(auto names, fs::list_dir(dir.get(), "\"" + dir_rel + "\""));
      for (const auto& n : names) {
        const std::string rel = join(dir_rel, n);
        if (!written_.count(rel)) {
          STRATA_TRY(fs::remove_all_at(dir.get(), n, rel));
          continue;
        }
        struct stat st {};
        if (::fstatat(dir.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
          todo.push_back(rel);
      }
    }
    if (!overlay || !top.empty())
      return {};
    STRATA_TRY_ASSIGN(auto lower, writer_.copy_up().lower_root_names());
    for (const auto& n : lower) {
      if (written_.count(n))
        continue; // this archive's own: a directory got the xattr above
      if (::mknodat(root_.fd(), n.c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0 && errno != EEXIST)
        return fs::sys_error("cannot create the overlay whiteout for " + n, errno);
    }
    return {};
  }

  const fs::Root& root_;
  const ApplyOptions& opts_;
  detail::EntryWriter writer_;
  std::unordered_set<std::string> written_;
  // Paths where this archive wrote a symlink.
  std::unordered_set<std::string> links_written_;
  std::vector<detail::DirTimes> dir_times_;
  std::uint64_t total_ = 0;
};

} // namespace

namespace {

Result<ApplyResult> apply_unguarded(const std::string& root_path, const contentio::Source& tar,
                                    const ApplyOptions& opts) {
  auto root = fs::Root::open(root_path);
  if (!root) {
    if (root.error().code() == Code::InvalidArgument)
      return failed_precondition("apply: " + root.error().message());
    return std::move(root).error().wrap("apply");
  }
  TarReader reader(tar);
  Applier applier(*root, opts);
  ApplyResult result;
  for (;;) {
    auto e = reader.next();
    if (!e)
      return std::move(e).error().wrap("apply onto " + root_path);
    if (!*e)
      break;
    ++result.entries;
    const char* name = archive_entry_pathname(*e);
    if (auto st = applier.entry(reader, *e); !st)
      return st.error().wrap("apply onto " + root_path + ": entry \"" +
                             std::string(name ? name : "") + "\"");
  }
  if (auto st = applier.finish_dirs(); !st)
    return st.error().wrap("apply onto " + root_path);
  if (auto st = reader.drain(); !st)
    return st.error().wrap("apply onto " + root_path);
  result.digest = reader.digest();
  result.size = reader.size();
  return result;
}

} // namespace

Result<ApplyResult> apply(const std::string& root_path, const contentio::Source& tar,
                          const ApplyOptions& opts) {
  // Sources and warn callbacks are the caller's code, and allocation may fail: no exception
  // leaves the library.
  try {
    return apply_unguarded(root_path, tar, opts);
  } catch (const std::exception& e) {
    return internal_error("apply onto " + root_path + ": " + e.what());
  } catch (...) {
    return internal_error("apply onto " + root_path + ": unknown exception");
  }
}

} // namespace strata::archive
