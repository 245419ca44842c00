#include <strata/contentio/blob_source.hpp>
#include <strata/contentio/read_ahead.hpp>
#include <strata/streamproc/layer.hpp>

namespace strata::streamproc {

LayerTar::~LayerTar() {
  close();
}

void LayerTar::close() {
  tar_ = nullptr; // joins a read-ahead worker: the chain is read from one thread at a time
  chain_.close();
}

Result<LayerTar> open_layer(ContentStore& store, const Descriptor& desc,
                            const std::vector<ProcessorSpec>& processors, LayerOptions options) {
  auto reader = store.reader(desc.digest);
  if (!reader)
    return std::move(reader).error();
  if (desc.size > 0 && (*reader)->size() != desc.size)
    return failed_precondition("blob " + desc.digest + " has " + std::to_string((*reader)->size()) +
                               " bytes, the descriptor says " + std::to_string(desc.size));
  contentio::Source blob = contentio::blob_source(*reader, desc.digest, /*verify=*/true);
  if (options.progress)
    blob = [inner = std::move(blob), progress = std::move(options.progress),
            total = std::uint64_t(0)](std::span<std::byte> buf) mutable -> Result<std::size_t> {
      auto n = inner(buf);
      if (n && *n > 0)
        progress(total += *n);
      return n;
    };
  auto chain = build_chain(processors, desc.media_type, std::move(blob), options.chain);
  if (!chain)
    return std::move(chain).error().wrap("blob " + desc.digest);
  contentio::Source tar = chain->source();
  // A known-plain tar goes straight to the archive reader; Docker's plain media type is
  // often gzip'd in practice, so it (nullopt: detect by magic) goes through the decompressor.
  auto codec = archive::compression_of_media_type(chain->media_type());
  if (!codec)
    return std::move(codec).error().wrap("after stream processors");
  if (*codec != archive::Compression::None) {
    tar = archive::decompressing(std::move(tar), *codec,
                                 {.max_output = options.max_output, .gzip = options.gzip});
    // Inflate on a worker while the caller consumes the tar; the worker reads the chain's
    // source, so close() stops it before the chain is closed.
    if (options.decompress_thread)
      tar = contentio::read_ahead(std::move(tar));
  }
  return LayerTar(std::move(*chain), std::move(tar));
}

} // namespace strata::streamproc
