#pragma once
/// \file
/// diff: the changes from one directory tree to another as an OCI layer tar (whiteouts for
/// deletions), written in a deterministic order so the same trees give the same bytes.

#include <strata/contentio/stream.hpp>
#include <strata/plugin/differ.hpp>
#include <strata/plugin/error.hpp>
#include <strata/plugin/snapshot.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace strata::archive {

struct DiffOptions {
  /// Regular entries with a newer mtime are clamped to this (SOURCE_DATE_EPOCH); older times are
  /// kept. Whiteout entries always carry 1970-01-01 whatever this is. It must lie in
  /// [0, max_source_date_epoch] seconds (strata/plugin/differ.hpp).
  std::optional<Timestamp> source_date_epoch;
};

struct DiffResult {
  /// "sha256:<hex>" and size of the uncompressed tar written to the sink (the diff ID).
  std::string digest;
  std::int64_t size = 0;
  /// Entries written (whiteouts included).
  std::uint64_t entries = 0;
};

/// Walks `lower` and `upper` (both directories; `lower` may be empty for "no parent") in byte
/// order of names and writes an uncompressed PAX tar of the changes into `out`: added and
/// modified entries with their content, modes, owners, mtimes (seconds), xattrs, hardlinks
/// within the layer and device numbers; a ".wh.<name>" entry for each deleted path (one for a
/// whole deleted directory); parents of changed entries included. Sockets are skipped (one
/// replacing another entry yields that entry's whiteout). Xattrs are carried as
/// SCHILY.xattr.*, all but the host's own: overlayfs bookkeeping (trusted.overlay.*,
/// user.overlay.*) and security.selinux. Paths sharing an inode (nlink > 1) become one entry and
/// hardlink entries to it, in walk order. The bytes depend only on the trees and `opts`, not on
/// the host, its locale or the time of day: restricted PAX (an extended header only where ustar
/// cannot hold a field), numeric owners only, no atime/ctime, no padding after the two
/// end-of-archive blocks.
/// A non-directory counts as changed when its type, mode, owner, device number, xattrs, size,
/// symlink target or mtime differ; with equal mtimes whose nanoseconds are 0 on either side
/// (truncated by a tar), the bytes are compared. Equal size and equal full-precision mtime mean
/// unchanged, as in containerd: a rewrite within the same timestamp tick goes unnoticed.
/// Errors: InvalidArgument (opts.source_date_epoch out of range, before anything is written);
/// NotFound (a root missing); Internal (I/O, naming the path); the sink's own errors.
Result<DiffResult> write_diff(const std::string& lower, const std::string& upper,
                              const contentio::Sink& out, const DiffOptions& opts = {});

/// SOURCE_DATE_EPOCH from the environment: nullopt when unset or empty.
/// Errors: InvalidArgument when it is not a decimal number of seconds in
/// [0, max_source_date_epoch].
Result<std::optional<Timestamp>> source_date_epoch_from_env();

} // namespace strata::archive
