#pragma once
// The files of an OCI image layout, read from a directory or from a tar of one. Both are read by
// name in batches, so that a tar is read front to back once per batch and never extracted: the
// importer asks for the small files it must parse (a few rounds: index, nested index, manifest,
// config) and then streams the layers once.

#include <strata/contentio/stream.hpp>
#include <strata/plugin/error.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

namespace strata::images {

/// Receives one streamed file: its name in the layout, its size, and its bytes.
using StreamFn = std::function<Status(const std::string& name, std::int64_t size,
                                      const contentio::Source& source)>;

/// Files of one layout. Names are relative and clean ("index.json", "blobs/sha256/<hex>").
class LayoutFiles {
public:
  virtual ~LayoutFiles() = default;

  /// "directory /x" or "tar /x.tar", for messages.
  virtual const std::string& describe() const = 0;

  /// Reads each of `names` that exists. Missing ones are left out of the result.
  /// Errors: InvalidArgument when one is not a regular file, or is larger than `limit` bytes
  /// (the message says "oversized" and names the file and the limit); I/O errors.
  virtual Result<std::map<std::string, std::string>> read_small(const std::set<std::string>& names,
                                                                std::size_t limit) = 0;

  /// Calls `fn` for each of `names`, in the order the layout stores them; `fn` may leave the
  /// source unread. Errors: InvalidArgument naming the first one missing or not a regular file;
  /// `fn`'s errors; I/O errors.
  virtual Status stream(const std::set<std::string>& names, const StreamFn& fn) = 0;
};

/// Opens `path`: a directory is read through lib/fs's root-confined lookups (a symlink in the
/// layout can never lead outside it); a regular file is read as a tar, plain or compressed
/// (libarchive's filters). Errors: NotFound (no such path); InvalidArgument (neither).
Result<std::unique_ptr<LayoutFiles>> open_layout(const std::string& path);

} // namespace strata::images
