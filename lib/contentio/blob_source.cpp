#include "strata/contentio/blob_source.hpp"

#include "strata/contentio/blob_stream.hpp"
#include "strata/plugin/try.hpp"

#include <algorithm>
#include <cstring>

namespace strata::contentio {

namespace {

// BlobStream hands out its own chunks; a Source fills the caller's buffer, so what does not fit
// waits in `pending` for the next call.
struct BlobSourceState {
  std::shared_ptr<ReaderAt> reader;
  BlobStream stream;
  std::span<const std::byte> pending;

  BlobSourceState(std::shared_ptr<ReaderAt> r, std::string name, bool verify)
      : reader(std::move(r)), stream(*reader, std::move(name), default_chunk, verify) {}
};

} // namespace

Source blob_source(std::shared_ptr<ReaderAt> reader, std::string name, bool verify) {
  auto state = std::make_shared<BlobSourceState>(std::move(reader), std::move(name), verify);
  return [state](std::span<std::byte> buf) -> Result<std::size_t> {
    if (state->pending.empty()) {
      STRATA_TRY_ASSIGN(auto chunk, state->stream.next());
      state->pending = chunk;
    }
    const std::size_t n = std::min(buf.size(), state->pending.size());
    if (n > 0)
      std::memcpy(buf.data(), state->pending.data(), n);
    state->pending = state->pending.subspan(n);
    return n;
  };
}

} // namespace strata::contentio
