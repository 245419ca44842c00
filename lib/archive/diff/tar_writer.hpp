#pragma once
// TarWriter: libarchive writing PAX entries into a Sink, hashing and counting the bytes.

#include "tree_entry.hpp"

#include <strata/contentio/stream.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/plugin/error.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <optional>

namespace strata::archive::detail {

class TarWriter {
public:
  explicit TarWriter(const contentio::Sink& out);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  /// Writes `e` as `name` (dirs get a trailing '/'); regular files' bytes are read from
  /// `dirfd`/`base`; `hardlink_to` makes it a link entry instead. `mtime` is already clamped.
  Status entry(const std::string& name, const TreeEntry& e, std::int64_t mtime, int dirfd,
               const std::string& base, const std::string& hardlink_to = {});
  /// A whiteout: an empty regular file at 1970-01-01.
  Status whiteout(const std::string& name);
  /// Writes the end-of-archive blocks.
  Status close();

  std::string digest() { return hash_.finish(); }
  std::int64_t size() const noexcept { return size_; }
  std::uint64_t entries() const noexcept { return entries_; }

private:
  static la_ssize_t write_cb(struct archive*, void* self, const void* buf, size_t n);
  Error error(std::string_view what) const;
  Status header(archive_entry* e, const std::string& name);

  const contentio::Sink& out_;
  struct archive* a_;
  digest::Sha256 hash_;
  std::int64_t size_ = 0;
  std::uint64_t entries_ = 0;
  std::optional<Error> sink_error_;
};

} // namespace strata::archive::detail
