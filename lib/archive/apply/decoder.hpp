#pragma once
// The pieces decompressing() is built from, shared by decompress.cpp and the gzip decoder files
// meson picks (gzip_isal.cpp with ISA-L, gzip_isal_missing.cpp without).

#include "strata/archive/compression.hpp"
#include "strata/plugin/try.hpp"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace strata::archive::detail {

inline constexpr std::size_t input_chunk = 256 * 1024;

// Buffers the compressed input so a codec sees it in large chunks and detection can peek.
struct Input {
  contentio::Source source;
  std::vector<std::byte> buf = std::vector<std::byte>(input_chunk);
  std::size_t pos = 0, end = 0;
  bool eof = false;

  std::size_t available() const { return end - pos; }
  std::span<const std::byte> view() const { return std::span(buf).subspan(pos, available()); }
  // Refills when empty. Errors: the source's; DataLoss for an oversized count.
  Status fill() {
    if (available() > 0 || eof)
      return {};
    STRATA_TRY_ASSIGN(auto n, source(buf));
    if (n > buf.size())
      return Error(Code::DataLoss, "compressed source returned " + std::to_string(n) +
                                       " bytes for a buffer of " + std::to_string(buf.size()));
    pos = 0;
    end = n;
    eof = n == 0;
    return {};
  }
  // Makes sure at least `n` bytes are buffered unless the input ends first.
  Status peek(std::size_t n) {
    while (available() < n && !eof) {
      if (pos > 0) {
        std::memmove(buf.data(), buf.data() + pos, available());
        end -= pos;
        pos = 0;
      }
      STRATA_TRY_ASSIGN(auto got, source(std::span(buf).subspan(end)));
      if (got > buf.size() - end)
        return Error(Code::DataLoss, "compressed source returned an oversized count");
      eof = got == 0;
      end += got;
    }
    return {};
  }
};

class Decoder {
public:
  virtual ~Decoder() = default;
  // Writes into `out` (never empty); 0 only at the clean end of the stream.
  // Errors: InvalidArgument for corrupt or truncated input; the input's own errors.
  virtual Result<std::size_t> read(Input& in, std::span<std::byte> out) = 0;
};

// After a gzip member ended: done when the input ended too, another member when one starts
// next (pigz and concatenated files), else InvalidArgument for trailing garbage. Both gzip
// decoders decide it here so that they agree byte for byte.
enum class AfterMember { End, NextMember };
Result<AfterMember> after_gzip_member(Input& in);

// zlib's inflate, multi-member.
std::unique_ptr<Decoder> make_zlib_gzip_decoder();
// ISA-L's igzip, multi-member; nullptr when this build has no ISA-L.
std::unique_ptr<Decoder> make_isal_gzip_decoder();
// Whether this build has ISA-L.
bool isal_built_in() noexcept;

} // namespace strata::archive::detail
