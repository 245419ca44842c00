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

/// A Source of the decompressed bytes of `compressed`. With `codec` nullopt the codec is detected
/// from the first bytes. The returned Source reports corrupt or truncated input as
/// InvalidArgument ("corrupt gzip stream: ..."), and ResourceExhausted once more than
/// `max_output` bytes came out (0: no limit) — the decompression-bomb guard.
contentio::Source decompressing(contentio::Source compressed, std::optional<Compression> codec,
                                std::uint64_t max_output = 0);

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
