// apply(): the tar loop, OCI whiteouts, and directory times at the end.

#include "strata/archive/apply.hpp"

#include "entry_writer.hpp"
#include "tar_source.hpp"

#include <strata/fs/root.hpp>

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

  Status entry(detail::TarReader& tar, archive_entry* e) {
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
    if (auto st = writer_.write(tar, e, *rel, &times); !st)
      return st;
    if (!times.rel.empty())
      dir_times_.push_back(times);
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

  // The directory a whiteout acts on, or an empty fd when there is none (missing, or a
  // non-directory): then there is nothing below it to hide.
  Result<fs::UniqueFd> open_lower_dir(const std::string& parent) const {
    auto path = root_.open_at(parent, O_PATH);
    if (!path)
      return path.error().code() == Code::NotFound ? Result<fs::UniqueFd>(fs::UniqueFd())
                                                   : Result<fs::UniqueFd>(std::move(path).error());
    struct stat st {};
    if (::fstat(path->get(), &st) != 0)
      return fs::sys_error("cannot stat \"" + parent + "\"", errno);
    if (!S_ISDIR(st.st_mode))
      return fs::UniqueFd();
    fs::UniqueFd dir(::openat(path->get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir)
      return fs::sys_error("cannot open directory \"" + parent + "\"", errno);
    return dir;
  }

  // Whether a component of `parent` exists in the root as a file, device or fifo (a file this
  // layer wrote where a directory was, say). A whiteout below it hides nothing: in an
  // upperdir the non-directory already hides the whole lower subtree. Each prefix is checked
  // without following its last component, and the earlier ones are directories, so no symlink
  // is ever followed.
  bool under_non_directory(const std::string& parent) const {
    for (std::size_t end = 0; end != std::string::npos && !parent.empty();) {
      end = parent.find('/', end + 1);
      const std::string prefix = parent.substr(0, end);
      struct stat st {};
      if (::fstatat(root_.fd(), prefix.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return false; // missing: make_dirs creates it
      if (S_ISLNK(st.st_mode))
        return false; // make_dirs refuses the way through a symlink, as it must
      if (!S_ISDIR(st.st_mode))
        return true;
    }
    return false;
  }

  Status whiteout(const std::string& parent, const std::string& base, archive_entry* e) {
    // Whiteouts remove entries, which may be the directory the writer has cached.
    writer_.forget_parent();
    if (base == opaque_marker)
      return opaque(parent);
    const std::string name = base.substr(whiteout_prefix.size());
    if (name.empty() || name == "." || name == "..")
      return invalid_argument("invalid whiteout name \"" + base +
                              "\": it must name an entry of its own directory");
    const std::string target = join(parent, name);
    if (written_.count(target))
      return {};
    if (opts_.whiteouts == WhiteoutMode::Overlay) {
      if (under_non_directory(parent))
        return {};
      auto dir = writer_.make_dirs(parent);
      if (!dir)
        return std::move(dir).error();
      if (auto st = fs::remove_all_at(dir->get(), name, target); !st)
        return st;
      if (::mknodat(dir->get(), name.c_str(), S_IFCHR | 0600, makedev(0, 0)) != 0)
        return fs::sys_error("cannot create the overlay whiteout for " + target, errno);
      if (!opts_.no_same_owner &&
          ::fchownat(dir->get(), name.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                     static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0)
        return fs::sys_error("cannot chown the overlay whiteout for " + target, errno);
      return {};
    }
    auto dir = open_lower_dir(parent);
    if (!dir)
      return std::move(dir).error();
    if (!*dir)
      return {};
    return fs::remove_all_at(dir->get(), name, target);
  }

  Status opaque(const std::string& parent) {
    Result<fs::UniqueFd> dir = fs::UniqueFd();
    if (opts_.whiteouts == WhiteoutMode::Overlay) {
      if (under_non_directory(parent))
        return {};
      dir = writer_.make_dirs(parent);
      if (!dir)
        return std::move(dir).error();
      if (::fsetxattr(dir->get(), opts_.opaque_xattr.c_str(), "y", 1, 0) != 0)
        return fs::sys_error("cannot set " + opts_.opaque_xattr + " on \"" + parent + "\"", errno);
      // The xattr hides the lowerdirs; what the upperdir holds that this archive did not write
      // (files copied up from the lowerdirs for hardlinks, an earlier apply's entries) goes
      // below, as in Remove mode.
    } else {
      dir = open_lower_dir(parent);
      if (!dir)
        return std::move(dir).error();
      if (!*dir)
        return {};
    }
    DIR* d = ::fdopendir(::dup(dir->get()));
    if (!d)
      return fs::sys_error("cannot list \"" + parent + "\"", errno);
    std::vector<std::string> doomed;
    while (dirent* de = ::readdir(d)) {
      std::string_view n = de->d_name;
      if (n != "." && n != ".." && !written_.count(join(parent, n)))
        doomed.emplace_back(n);
    }
    ::closedir(d);
    for (const auto& n : doomed)
      if (auto st = fs::remove_all_at(dir->get(), n, join(parent, n)); !st)
        return st;
    mark_written(parent);
    return {};
  }

  const fs::Root& root_;
  const ApplyOptions& opts_;
  detail::EntryWriter writer_;
  std::unordered_set<std::string> written_;
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
  detail::TarReader reader(tar);
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
