#pragma once
// TarWriter: libarchive writing PAX entries into a Sink, hashing and counting the bytes.

#include "tree_entry.hpp"

#include <strata/contentio/stream.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/plugin/error.hpp>

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <optional>

namespace strata::archive::detail {

class TarWriter {
public:
  /// Must be used and destroyed on the thread that made it (it pins that thread's locale).
  explicit TarWriter(const contentio::Sink& out);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  /// Writes `e` as `name` (dirs get a trailing '/'); regular files' bytes are read from
  /// `dirfd`/`base`; `hardlink_to` makes it a link entry instead. `mtime` is already clamped.
  /// Sockets are not written (callers skip them).
  Status entry(const std::string& name, const TreeEntry& e, std::int64_t mtime, int dirfd,
               const std::string& base, const std::string& hardlink_to = {});
  /// A whiteout: an empty regular file at 1970-01-01.
  Status whiteout(const std::string& name);
  /// Writes the end-of-archive blocks. Without it (an error stopped the walk) the destructor
  /// discards the rest: the sink sees no end-of-archive.
  Status close();

  std::string digest() { return hash_.finish(); }
  std::int64_t size() const noexcept { return size_; }
  std::uint64_t entries() const noexcept { return entries_; }

private:
  static la_ssize_t write_cb(struct archive*, void* self, const void* buf, size_t n);
  Error error(std::string_view what) const;
  Status header(archive_entry* e, const std::string& name);
  Status copy_content(const std::string& name, const TreeEntry& te, int dirfd,
                      const std::string& base);

  const contentio::Sink& out_;
  locale_t locale_ = nullptr;
  locale_t previous_locale_ = nullptr;
  struct archive* a_;
  std::optional<Error> init_error_;
  digest::Sha256 hash_;
  std::int64_t size_ = 0;
  std::uint64_t entries_ = 0;
  std::optional<Error> sink_error_;
  bool closed_ = false;
  bool abandoned_ = false;
};

} // namespace strata::archive::detail
