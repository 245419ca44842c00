#pragma once
// EntryWriter: creates one tar entry below a Root and sets its metadata, with every lookup
// confined to the root and no operation ever following a symlink at the entry's own name.

#include "strata/archive/apply.hpp"

#include "copy_up.hpp"
#include <strata/archive/tar_reader.hpp>

#include <strata/fs/root.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <string>

namespace strata::archive::detail {

/// Times to put back on a directory once all its children exist.
struct DirTimes {
  std::string rel;
  struct timespec times[2];
};

class EntryWriter {
public:
  EntryWriter(const fs::Root& root, const ApplyOptions& opts)
      : root_(root), opts_(opts), copy_up_(root, opts) {}

  /// Writes entry `e` (data read through `tar`) at cleaned relative path `rel`; for a directory,
  /// fills `dir_times`. Errors: InvalidArgument (unsupported type, hostile link, a parent that
  /// is not a directory); Internal/by errno for I/O.
  Status write(TarReader& tar, archive_entry* e, const std::string& rel, DirTimes* dir_times);
  /// Drops the cached parent directory; callers that change the tree other than through write()
  /// (whiteouts) call it first.
  void forget_parent() noexcept;
  /// The directory `rel`, missing components made as CopyUp::make_dirs() makes them (in Overlay
  /// mode with the attributes of the parents' directories). Errors: CopyUp::make_dirs()'s.
  Result<fs::UniqueFd> make_dirs(std::string_view rel) { return copy_up_.make_dirs(rel); }
  /// The lower-layer lookups (Overlay mode).
  CopyUp& copy_up() noexcept { return copy_up_; }

private:
  Status write_at(TarReader& tar, archive_entry* e, const std::string& rel, int parent,
                  const std::string& base, DirTimes* dir_times);
  // Removes what is at (parent, base) unless a directory meets a directory; sets replaced_.
  Status clear_name(int parent, const std::string& base, const std::string& rel, mode_t type);
  Status write_regular(TarReader& tar, int parent, const std::string& base, const std::string& rel,
                       archive_entry* e, fs::UniqueFd& out);
  // Links `target` (resolved inside the root, never through its last component) at
  // (parent, base), replacing what was there unless it is already that inode. In Overlay mode
  // a target the root lacks (or holds as a whiteout) is first copied up from the lower layers.
  Status write_hardlink(int parent, const std::string& base, const std::string& rel,
                        const char* target);
  // Owner, xattrs, mode, times, in that order (chown clears setuid bits, so chmod follows it).
  // `fd` is the entry opened (regular files, directories) or -1 (symlinks, devices, fifos),
  // which are then addressed as (parent, base) without following.
  Status set_metadata(archive_entry* e, int fd, int parent, const std::string& base,
                      bool is_symlink, bool is_dir);
  Status set_xattrs(archive_entry* e, int fd, int parent, const std::string& base);

  const fs::Root& root_;
  const ApplyOptions& opts_;
  CopyUp copy_up_;
  // The parent directory of the previous entry, resolved in the root, and its relative path.
  fs::UniqueFd parent_;
  std::string parent_rel_;
  // Set when the current entry removed something.
  bool replaced_ = false;
};

/// Entry mtime/atime as utimensat wants them (atime falls back to mtime).
void entry_times(archive_entry* e, struct timespec out[2]);

} // namespace strata::archive::detail
