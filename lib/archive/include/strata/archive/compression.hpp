#pragma once
/// \file
/// Layer compression: which codec a media type or a stream's first bytes mean, and streaming
/// decompression (Source -> Source) and compression (Sink -> Writer).

#include <strata/contentio/stream.hpp>
#include <strata/plugin/error.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string_view>

namespace strata::archive {

enum class Compression { None, Gzip, Zstd };

/// "none", "gzip", "zstd".
std::string_view to_string(Compression c) noexcept;

/// The codec a layer media type names: OCI layer.v1.tar[+gzip|+zstd] (and the non-distributable
/// variants), Docker rootfs.diff.tar[.gzip]. nullopt means "detect from the magic bytes" (plain
/// Docker tar, whose content may be compressed anyway).
/// Errors: NotImplemented for any other media type (e.g. encrypted layers), naming it.
Result<std::optional<Compression>> compression_of_media_type(std::string_view media_type);

/// Codec from a stream's first bytes (gzip 1f 8b 08; zstd 28 b5 2f fd or a skippable frame);
/// None when neither matches. Needs at most 4 bytes.
Compression detect_compression(std::span<const std::byte> head) noexcept;

/// Which implementation inflates gzip. Both accept exactly the same streams (single or
/// concatenated members, CRC-32 and length checked in every trailer) and give the same bytes and
/// error codes; Isal (Intel ISA-L's igzip) inflates about 2.5x as fast as Zlib, the plain decoder.
enum class GzipDecoder { Isal, Zlib };

/// "isal", "zlib".
std::string_view to_string(GzipDecoder d) noexcept;

/// Whether this build has ISA-L. Without it (libisal not found when meson configured the build)
/// GzipDecoder::Isal means Zlib.
bool isal_available() noexcept;

/// The decoder that `requested` really gets in this build: Zlib for Isal without ISA-L.
GzipDecoder effective(GzipDecoder requested) noexcept;

struct DecompressOptions {
  /// Fail with ResourceExhausted once more than this many bytes came out (the
  /// decompression-bomb guard); 0: no limit.
  std::uint64_t max_output = 0;
  /// The gzip implementation (zstd is always libzstd's streaming decoder).
  GzipDecoder gzip = GzipDecoder::Isal;
};

/// A Source of the decompressed bytes of `compressed`, pulled on the caller's thread (wrap it in
/// contentio::read_ahead() to decompress on a thread of its own). With `codec` nullopt the codec
/// is detected from the first bytes (no match: the bytes pass through). Errors of the returned
/// Source, sticky once reported:
/// - InvalidArgument for corrupt or truncated input ("corrupt gzip stream: ...", "corrupt zstd
///   stream: ..."), including a bad CRC-32 or length in a gzip trailer and trailing bytes after
///   the last gzip member that do not start another member;
/// - ResourceExhausted once more than options.max_output bytes came out;
/// - DataLoss when `compressed` returns more bytes than it was asked for;
/// - Internal when a codec cannot be initialised;
/// - the errors of `compressed`, unchanged.
contentio::Source decompressing(contentio::Source compressed, std::optional<Compression> codec,
                                const DecompressOptions& options = {});

/// Compresses into a Sink. write() may be called any number of times; finish() flushes the
/// trailer and must be called exactly once for the output to be complete.
class CompressingWriter {
public:
  virtual ~CompressingWriter();
  /// Errors: those of the underlying sink; Internal on a codec failure.
  virtual Status write(std::span<const std::byte> data) = 0;
  /// Errors: as write(); FailedPrecondition when called twice.
  virtual Status finish() = 0;
};

/// A writer that compresses with `codec` (None passes bytes through) into `out`. Output is
/// deterministic for the same input: no file name or time stamp in the gzip header.
std::unique_ptr<CompressingWriter> compressing(contentio::Sink out, Compression codec);

} // namespace strata::archive
