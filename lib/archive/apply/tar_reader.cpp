#include <strata/archive/tar_reader.hpp>

#include <exception>
#include <string>

namespace strata::archive {

TarReader::TarReader(const contentio::Source& source)
    : source_(source), a_(archive_read_new()), buf_(256 * 1024) {
  // Tar only, and no libarchive filters: decompression is the caller's business (the digest
  // must cover exactly the tar bytes).
  archive_read_support_format_tar(a_);
  archive_read_open(a_, this, nullptr, &TarReader::read_cb, nullptr);
}

TarReader::~TarReader() {
  archive_read_free(a_);
}

la_ssize_t TarReader::read_cb(struct archive* a, void* self, const void** out) {
  auto* r = static_cast<TarReader*>(self);
  if (r->eof_)
    return 0;
  // Called from inside libarchive (C): nothing may unwind through it.
  Result<std::size_t> n = std::size_t{0};
  try {
    n = r->source_(r->buf_);
  } catch (const std::exception& e) {
    n = internal_error(std::string("tar source threw: ") + e.what());
  } catch (...) {
    n = internal_error("tar source threw an unknown exception");
  }
  if (!n) {
    r->source_error_ = n.error();
    archive_set_error(a, EIO, "%s", n.error().message().c_str());
    return -1;
  }
  if (*n > r->buf_.size()) {
    r->source_error_ =
        Error(Code::DataLoss, "tar source returned " + std::to_string(*n) +
                                  " bytes for a buffer of " + std::to_string(r->buf_.size()));
    archive_set_error(a, EIO, "oversized read count");
    return -1;
  }
  r->eof_ = *n == 0;
  r->hash_.update(std::span(r->buf_).first(*n));
  r->size_ += static_cast<std::int64_t>(*n);
  *out = r->buf_.data();
  return static_cast<la_ssize_t>(*n);
}

Result<archive_entry*> TarReader::next() {
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(a_, &entry);
  if (rc == ARCHIVE_EOF)
    return static_cast<archive_entry*>(nullptr);
  if (rc == ARCHIVE_OK || rc == ARCHIVE_WARN)
    return entry;
  // A zero-byte stream is an empty layer (as Go's archive/tar has it), not an unknown format.
  if (eof_ && size_ == 0 && !source_error_)
    return static_cast<archive_entry*>(nullptr);
  return error("reading a tar header");
}

Error TarReader::error(std::string_view what) const {
  if (source_error_)
    return *source_error_;
  const char* msg = archive_error_string(a_);
  return invalid_argument("corrupt or truncated tar: " + std::string(what) + ": " +
                          (msg ? msg : "unknown libarchive error"));
}

Status TarReader::drain() {
  while (!eof_) {
    const void* ignored = nullptr;
    if (read_cb(a_, this, &ignored) < 0)
      return *source_error_;
  }
  return {};
}

std::string TarReader::digest() {
  return hash_.finish();
}

} // namespace strata::archive
