#pragma once
/// \file
/// BlobStream: reads a whole blob sequentially through any ReaderAt, first- or third-party, and
/// refuses to trust what the reader says. A count larger than the buffer it was given (what a
/// negative count becomes in a size_t), a 0 count before the declared size, or an error from the
/// reader each end the stream with an error naming the blob, the offset and the size: a consumer
/// never receives a short or garbled blob as if it were whole.

#include <strata/plugin/content.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace strata::contentio {

/// Default chunk size of BlobStream (1 MiB).
inline constexpr std::size_t default_chunk = std::size_t(1) << 20;

/// Sequential reader of one blob.
///
/// \code
/// BlobStream s(*reader, "sha256:...");
/// for (;;) {
///   auto chunk = s.next();
///   if (!chunk) return std::move(chunk).error();
///   if (chunk->empty()) break;       // the whole blob was read
///   consume(*chunk);
/// }
/// \endcode
class BlobStream {
public:
  /// Streams `reader` (which must outlive the stream). `name` (normally the digest) appears in
  /// error messages. When `verify` is true and `name` is a digest, the bytes are hashed and the
  /// last next() fails with DataLoss if they do not match it. `chunk` must not be 0.
  BlobStream(ReaderAt& reader, std::string name, std::size_t chunk = default_chunk,
             bool verify = false);

  /// The next bytes, valid until the following call; an empty span once the declared size has
  /// been read. Errors (the stream stays failed afterwards, returning the same error):
  /// DataLoss (count larger than the buffer, 0 count before the end, negative declared size,
  /// digest mismatch); the reader's own error, with the blob and offset prefixed.
  Result<std::span<const std::byte>> next();

  /// Bytes delivered so far.
  std::int64_t offset() const noexcept { return offset_; }
  /// The size the reader declared.
  std::int64_t size() const noexcept { return size_; }
  /// True when the whole blob was delivered.
  bool done() const noexcept { return !failed_ && offset_ == size_; }

private:
  Error fail(Error e);
  // "blob <name> at offset <n> of size <m>", for messages.
  std::string where() const;

  ReaderAt& reader_;
  std::string name_;
  std::vector<std::byte> buf_;
  std::int64_t size_;
  std::int64_t offset_ = 0;
  bool verify_;
  bool verified_ = false;
  struct Hasher;
  std::shared_ptr<Hasher> hash_; // only when verifying
  std::optional<Error> failed_;
};

} // namespace strata::contentio
