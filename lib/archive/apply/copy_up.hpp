#pragma once
// CopyUp: hardlink targets that live in an overlay lower layer, copied up into the upperdir,
// and the attributes of the lower directories an entry is created in.
//
// Why this exists: in Overlay mode a layer is applied straight into an upperdir, but the layer
// was made against the merged view, so one of its hardlinks may name a file that only an
// earlier layer (a lowerdir) holds. linkat(2) cannot be used across layers: the lowerdir is
// another snapshot, often another filesystem, and sharing its inode would let this layer change
// a committed one. Overlayfs itself, on the first write to a lower file, copies it up into the
// upperdir (data, owner, mode, xattrs, times; missing parent directories first) and works on
// the copy; doing the same before linking gives the upperdir exactly what a write through the
// mounted overlay would have given it, and the link then shares the copy's inode.
//
// The target is looked up the way overlayfs merges: the upperdir first, then each lowerdir,
// nearest first. A whiteout (a 0:0 character device) on the path or on one of its ancestors
// means the target is gone; a directory carrying the opaque xattr hides the same path in every
// deeper layer; a non-directory on an ancestor hides everything below it in deeper layers.
// Every lookup is an fd-relative walk with O_NOFOLLOW from the layer's directory: a symlink on
// the way is never followed, so nothing outside a layer is ever read (a hardlink target reached
// through a symlink in a lower layer is reported as not found, not resolved).

#include "strata/archive/apply.hpp"

#include <strata/fs/root.hpp>

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <vector>

namespace strata::archive::detail {

class CopyUp {
public:
  CopyUp(const fs::Root& root, const ApplyOptions& opts) : root_(root), opts_(opts) {}

  /// Makes `rel` (a cleaned, non-empty relative path that the root does not hold, or holds as
  /// a whiteout) exist in the root by copying it up from the nearest parent layer
  /// (opts.parents) that shows it in the merged view, and returns the root's directory holding
  /// it. The parents are opened on first use.
  /// Errors: NotFound (in no layer, or hidden by a whiteout, an opaque directory or a
  /// non-directory on its path; the message says which and where); NeedsParent (not in the root
  /// and opts.parents_unknown); InvalidArgument (the target
  /// is a directory, a parent is not an absolute path or not a directory); errors by errno for
  /// I/O. On error nothing is left in the root: a partial copy and the directories made for it
  /// are removed.
  Result<fs::UniqueFd> target_dir(std::string_view rel);

  /// The directory `rel` of the root, made with root.make_dirs(). In Overlay mode each
  /// directory it creates takes owner, xattrs and mode from the directory at the same path in
  /// the merged view of the parents (as overlayfs copies a lower directory up before creating
  /// in it), or stays a new 0755 directory when no parent shows one. With
  /// opts.parents_unknown nothing below is known: creating a directory that an opaque
  /// directory of the root does not cover fails with NeedsParent, and the caller applies the
  /// layer again onto its parents. Errors: those of fs::Root::make_dirs; NeedsParent as said;
  /// errors by errno reading a parent or setting attributes (xattrs follow the apply's policy).
  /// A whiteout on the path in the root (this layer whited the directory out, then writes below
  /// it) is replaced by a new 0755 directory carrying the opaque xattr: the lower one is gone,
  /// as it would be in a merged view. A lower layer showing a symlink or another non-directory
  /// where a directory is to be made is refused with InvalidArgument, as applying onto the
  /// merged view refuses a non-directory parent: overlayfs would show the new directory in its
  /// place, changing the entry's type.
  Result<fs::UniqueFd> make_dirs(std::string_view rel);

  /// What the merged view of the parent layers (opts.parents) shows at `rel`.
  enum class Shows { Directory, Absent, Symlink, NonDirectory };
  struct Shown {
    Shows shows = Shows::Absent;
    /// Symlink, NonDirectory: the path of the component that is one.
    std::string at;
  };
  /// Errors: NeedsParent with opts.parents_unknown (the caller applies the layer onto its parents
  /// instead); errors by errno reading a parent.
  Result<Shown> lower_shows(std::string_view rel);

  /// The names in the root directory of any parent layer (a union, whiteouts included): what
  /// an opaque marker at the layer root must hide, since overlayfs ignores the opaque xattr on
  /// an upperdir's root. Errors: NeedsParent with opts.parents_unknown; errors by errno.
  Result<std::vector<std::string>> lower_root_names();

private:
  struct MergedDirs {
    /// Per component: the topmost parent layer's directory at that path, if any shows it.
    std::vector<fs::UniqueFd> dirs;
    /// The root hides the parents on this path (an opaque directory, a whiteout).
    bool upper_hides = false;
    /// A parent shows a non-directory at component `blocked_at` (dirs.size(): none).
    std::size_t blocked_at = 0;
    bool blocked_by_symlink = false;
  };
  // Replaces the first whiteout on `rel` in the root by an opaque directory; false if none.
  Result<bool> reopen_whited_out_dir(std::string_view rel);
  Result<MergedDirs> merged_dirs(const std::vector<std::string>& comps);
  Status open_parents();

  const fs::Root& root_;
  const ApplyOptions& opts_;
  std::vector<fs::Root> parents_;
  bool opened_ = false;
};

/// True for an overlay whiteout: a character device with device number 0:0.
bool is_overlay_whiteout(const struct stat& st) noexcept;

} // namespace strata::archive::detail
