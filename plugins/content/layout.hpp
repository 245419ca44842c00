#pragma once
// Where the content store keeps things under its root:
//   blobs/sha256/<hex>      committed blobs, mode 0444 (immutable once committed)
//   labels/<hex>.json       label sidecars, replaced atomically
//   ingest/<sha256(ref)>/   one directory per ingest in progress: "data" and "ref"
// Ingest directories are named by a hash of the ref because refs are caller-chosen strings that
// may contain '/', "..", or be longer than a file name may be.

#include <strata/plugin/error.hpp>

#include <string>
#include <string_view>

namespace strata::content {

/// Mode of committed blob files: read-only for everyone who can reach the 0700 root, so that
/// nothing in the daemon can modify a blob in place by accident.
inline constexpr unsigned blob_mode = 0444;
/// Mode of every directory the store creates.
inline constexpr unsigned dir_mode = 0700;

/// Paths under a store root.
struct Layout {
  explicit Layout(std::string root);

  std::string root;
  std::string blobs;  ///< <root>/blobs/sha256
  std::string labels; ///< <root>/labels
  std::string ingest; ///< <root>/ingest

  /// <blobs>/<hex>.
  std::string blob_path(std::string_view hex) const;
  /// "<hex>.json", the sidecar's name inside `labels`.
  static std::string labels_name(std::string_view hex);
  /// <ingest>/<sha256 hex of ref>.
  std::string ingest_dir(std::string_view ref) const;

  /// Creates every directory (and the root's parents) with dir_mode.
  Status create() const;
};

/// The 64 hex digits of a validated "sha256:<hex>" digest.
inline std::string_view hex_of(std::string_view digest) {
  return digest.substr(std::string_view("sha256:").size());
}

} // namespace strata::content
