#pragma once
/// \file
/// A layer blob read as its uncompressed tar: the content store's bytes (digest-checked), the
/// configured stream processors (chain.hpp), then decompression (lib/archive). Every differ that
/// applies layers opens them this way, so they agree on what a layer's tar is.

#include <strata/archive/compression.hpp>
#include <strata/contentio/stream.hpp>
#include <strata/plugin/content.hpp>
#include <strata/plugin/descriptor.hpp>
#include <strata/streamproc/chain.hpp>

#include <cstdint>
#include <functional>
#include <optional>

namespace strata::streamproc {

/// Options of open_layer().
struct LayerOptions {
  /// How the processors run.
  ChainOptions chain;
  /// Decompressed bytes after which reading fails (archive::DecompressOptions::max_output);
  /// 0: no limit.
  std::uint64_t max_output = 0;
  /// The gzip decoder asked for (archive::effective() says what is used).
  archive::GzipDecoder gzip = archive::GzipDecoder::Isal;
  /// Decompress on a worker thread of its own (contentio::read_ahead).
  bool decompress_thread = true;
  /// Called with the number of the blob's bytes read so far; may be empty.
  std::function<void(std::uint64_t)> progress;
};

/// A layer being read: tar() is its uncompressed tar stream. Move-only; close() (or the
/// destructor) stops the decompression worker first, then the processors.
class LayerTar {
public:
  /// Wraps a running chain and the tar source read from it (open_layer() makes these).
  LayerTar(Chain chain, contentio::Source tar) : chain_(std::move(chain)), tar_(std::move(tar)) {}
  LayerTar(LayerTar&&) noexcept = default;
  // No assignment: the old tar's worker would still read the old chain while it is replaced.
  LayerTar& operator=(LayerTar&&) = delete;
  /// Calls close().
  ~LayerTar();

  /// The uncompressed tar. Read from one thread at a time.
  const contentio::Source& tar() const noexcept { return tar_; }
  /// Stops reading: joins a decompression worker, then closes the chain (see Chain::close).
  void close();

private:
  Chain chain_;
  contentio::Source tar_;
};

/// Opens the blob `desc` of `store` as a layer tar through `processors` (those accepting its media
/// type, in turn) and the decompressor the resulting media type calls for (a Docker plain tar,
/// often gzip'd in practice, is detected by magic).
/// Errors: NotFound (blob missing); FailedPrecondition (the blob's size differs from desc.size);
/// the chain's errors (build_chain) naming the blob; InvalidArgument for a media type after the
/// processors that is no layer.
Result<LayerTar> open_layer(ContentStore& store, const Descriptor& desc,
                            const std::vector<ProcessorSpec>& processors, LayerOptions options);

} // namespace strata::streamproc
