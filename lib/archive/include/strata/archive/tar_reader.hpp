#pragma once
/// \file
/// TarReader: libarchive reading tar headers and data from a Source, hashing every byte it pulls
/// so the caller gets the digest of the whole stream (the diff ID). apply() reads layers with it;
/// a differ that writes a layer into something other than a directory (the lcow differ's ext4
/// image) reads the same way, so every differ agrees on what a layer's entries and digest are.

#include <strata/contentio/stream.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/plugin/error.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <optional>
#include <vector>

namespace strata::archive {

/// Reads one tar stream (no decompression: the caller decompresses, so the digest covers exactly
/// the tar bytes). Not copyable; reads the source from the calling thread only.
class TarReader {
public:
  /// Reads from `source`, which must outlive the reader.
  explicit TarReader(const contentio::Source& source);
  /// Frees the libarchive handle.
  ~TarReader();
  TarReader(const TarReader&) = delete;
  TarReader& operator=(const TarReader&) = delete;

  /// The next header; nullptr at the end of the archive.
  /// Errors: InvalidArgument for a corrupt or truncated tar; the source's own errors.
  Result<archive_entry*> next();
  /// The libarchive handle, for reading the current entry's data (archive_read_data_block).
  struct archive* handle() const noexcept {
    return a_;
  }
  /// The error for a failed libarchive call on the current entry: the source's own error when
  /// it failed, otherwise InvalidArgument with libarchive's reason.
  Error error(std::string_view what) const;
  /// Reads the rest of the source (padding after the end-of-archive blocks) into the hash.
  Status drain();
  /// Digest and size of everything read from the source.
  std::string digest();
  std::int64_t size() const noexcept { return size_; }

private:
  static la_ssize_t read_cb(struct archive*, void* self, const void** out);

  const contentio::Source& source_;
  struct archive* a_ = nullptr;
  std::vector<std::byte> buf_;
  digest::Sha256 hash_;
  std::int64_t size_ = 0;
  bool eof_ = false;
  std::optional<Error> source_error_;
};

} // namespace strata::archive
