#pragma once
/// \file
/// apply: unpack an OCI layer (an uncompressed tar stream) onto a directory, with every
/// filesystem operation confined to that directory (openat2 RESOLVE_IN_ROOT / fd-relative walks;
/// never string-prefix checks), and OCI whiteouts applied.

#include <strata/contentio/stream.hpp>
#include <strata/plugin/error.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace strata::archive {

/// What to do with whiteout entries (".wh.<name>", ".wh..wh..opq").
enum class WhiteoutMode {
  /// Remove the named entries from the tree (applying onto a merged view or a plain directory).
  Remove,
  /// Write them as overlayfs does: ".wh.<name>" becomes a 0:0 character device <name>, an opaque
  /// marker sets the opaque xattr on its directory (applying straight into an upperdir).
  Overlay,
};

/// What to do with an xattr the target filesystem or our privileges refuse (ENOTSUP, EPERM on
/// trusted.*).
enum class XattrPolicy { Fail, SkipWithWarning };

struct ApplyOptions {
  WhiteoutMode whiteouts = WhiteoutMode::Remove;
  /// Overlay mode only: "trusted.overlay.opaque", or "user.overlay.opaque" for userxattr mounts.
  std::string opaque_xattr = "trusted.overlay.opaque";
  /// Overlay mode only: the lowerdirs below the upperdir `root`, nearest first (absolute
  /// paths). A hardlink whose target is not in root is copied up from the nearest parent that
  /// has it, as overlayfs would on a write: missing parent directories first (mode, owner and
  /// xattrs of that layer's directories), then the target (data, owner, mode, xattrs except
  /// overlayfs' own, times), and the link is made to the copy. The lookup merges like overlayfs:
  /// a whiteout on the path (in root or a parent) means the target is gone, an opaque directory
  /// (`opaque_xattr` "y") hides deeper parents, and symlinks in a parent are never followed.
  /// A directory the archive implies without holding it (umoci, for one, writes no entries for
  /// the unchanged parents of a changed file) is created in root with the owner, xattrs and mode
  /// of the merged parents' directory at that path, or 0755 when none has one.
  /// Empty (and parents_unknown false): there is no layer below, so whiteouts leave no markers.
  /// Ignored in Remove mode, where root already is the merged view.
  std::vector<std::string> parents;
  /// Overlay mode only: the layers below root are not known yet (a layer applied without its
  /// parents, to be committed onto them later). A directory the archive implies without holding
  /// it (a parent of an entry or a whiteout) could be a lower layer's, whose owner and mode the
  /// upperdir must copy: that apply fails with NeedsParent, as does a hardlink to a file the
  /// archive does not hold, so that the caller applies the layer again onto its parents.
  bool parents_unknown = false;
  /// Like `tar --no-same-owner`: files belong to the caller instead of the archive's uid/gid.
  bool no_same_owner = false;
  XattrPolicy unsupported_xattrs = XattrPolicy::SkipWithWarning;
  /// Stop with ResourceExhausted once the entries' sizes add up to more than this (0: no limit).
  std::uint64_t max_total_bytes = 0;
  /// Receives one line per warning (skipped xattr, ...); may be empty.
  std::function<void(std::string_view)> warn;
};

struct ApplyResult {
  /// "sha256:<hex>" of every byte read from the source, trailing padding included: the diff ID
  /// of the layer when the source is its uncompressed tar.
  std::string digest;
  /// Bytes read from the source.
  std::int64_t size = 0;
  /// Tar entries processed (whiteouts included).
  std::uint64_t entries = 0;
};

/// Applies the uncompressed tar `tar` onto the existing directory `root`. Regular files, dirs,
/// symlinks, hardlinks (target inside root, or in Overlay mode copied up from `parents`; an
/// existing path is replaced), char/block devices,
/// fifos, xattrs (PAX SCHILY.xattr.*), owners, modes and times (directories' times set last).
/// Whiteouts act first, on what earlier layers left, wherever they appear in this tar (the OCI
/// image spec): what this archive writes survives them, and below a path it whites out or
/// marks opaque only its own entries stay, at any depth. In Overlay mode the result, mounted
/// over the parents, shows the same tree as Remove mode gives on the merged view: a directory
/// that replaces a non-directory (a whiteout, a file) gets the opaque xattr; an opaque marker
/// at the layer root (where overlayfs ignores the xattr) becomes a whiteout for every entry of
/// the parents' roots (with parents_unknown: NeedsParent, apply onto the parents); a whiteout
/// where no layer below shows a directory, or in an opaque directory, leaves no marker. A
/// whiteout or opaque marker below a symlink of a lower layer is refused (InvalidArgument: a
/// layer diff never descends a symlink); below a symlink or other non-directory this archive
/// wrote, it does nothing. In Overlay mode a directory implied over a lower layer's symlink or
/// file is refused (InvalidArgument), as Remove mode refuses a file there. Known limit: with
/// parents_unknown, a whiteout in a directory this archive writes stays a marker even where no
/// parent has that directory (a layer diff never makes one).
/// The source is read to its end so that `digest` covers the whole stream.
/// Errors: InvalidArgument (corrupt or truncated tar, hostile entry: a name or link escaping
/// root, a bare ".wh." or a whiteout leaving its directory, a whiteout below a lower symlink,
/// an unsupported entry type, a char or block device whose major/minor do not fit the kernel's
/// 12/20 bits, a 0:0 char device in Overlay mode (an upperdir would read it as a whiteout;
/// Remove mode creates it, as tar does); the message names the entry); ResourceExhausted
/// (max_total_bytes); NotFound (root missing; a
/// hardlink target that neither root nor, in Overlay mode, the merged parents show);
/// NeedsParent (parents_unknown: an entry needs the layers below, see there);
/// FailedPrecondition (root not a directory); Internal (an I/O error, naming the path and errno);
/// the source's own errors. On error, entries already applied stay (callers apply into a
/// scratch snapshot and discard it).
Result<ApplyResult> apply(const std::string& root, const contentio::Source& tar,
                          const ApplyOptions& opts = {});

} // namespace strata::archive
