// decompressing(): gzip (zlib, multi-member) and zstd as pull Sources, with a bomb guard.

#include "strata/archive/compression.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace strata::archive {

namespace {

constexpr std::size_t input_chunk = 128 * 1024;

// Buffers the compressed input so the codec sees it in large chunks and detection can peek.
struct Input {
  contentio::Source source;
  std::vector<std::byte> buf = std::vector<std::byte>(input_chunk);
  std::size_t pos = 0, end = 0;
  bool eof = false;

  std::size_t available() const { return end - pos; }
  // Refills when empty. Errors: the source's; DataLoss for an oversized count.
  Status fill() {
    if (available() > 0 || eof)
      return {};
    auto n = source(buf);
    if (!n)
      return std::move(n).error();
    if (*n > buf.size())
      return Error(Code::DataLoss, "compressed source returned " + std::to_string(*n) +
                                       " bytes for a buffer of " + std::to_string(buf.size()));
    pos = 0;
    end = *n;
    eof = *n == 0;
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
      auto got = source(std::span(buf).subspan(end));
      if (!got)
        return std::move(got).error();
      if (*got > buf.size() - end)
        return Error(Code::DataLoss, "compressed source returned an oversized count");
      eof = *got == 0;
      end += *got;
    }
    return {};
  }
};

class Decoder {
public:
  virtual ~Decoder() = default;
  // Writes into `out`; 0 only at the clean end of the stream.
  virtual Result<std::size_t> read(Input& in, std::span<std::byte> out) = 0;
};

class GzipDecoder final : public Decoder {
public:
  GzipDecoder() {
    std::memset(&z_, 0, sizeof z_);
    ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
  }
  ~GzipDecoder() override { inflateEnd(&z_); }

  Result<std::size_t> read(Input& in, std::span<std::byte> out) override {
    if (!ok_)
      return internal_error("cannot initialise zlib");
    for (;;) {
      if (done_)
        return std::size_t{0};
      if (auto st = in.fill(); !st)
        return st.error();
      if (in.available() == 0 && in.eof)
        return invalid_argument("corrupt gzip stream: truncated (the input ended inside a member)");
      z_.next_in = reinterpret_cast<Bytef*>(in.buf.data() + in.pos);
      z_.avail_in = static_cast<uInt>(in.available());
      z_.next_out = reinterpret_cast<Bytef*>(out.data());
      z_.avail_out = static_cast<uInt>(out.size());
      int rc = inflate(&z_, Z_NO_FLUSH);
      in.pos = in.end - z_.avail_in;
      std::size_t produced = out.size() - z_.avail_out;
      if (rc == Z_STREAM_END) {
        // Another member may follow (pigz and concatenated files); anything else is corrupt.
        if (auto st = in.peek(3); !st)
          return st.error();
        if (in.available() == 0) {
          done_ = true;
        } else if (detect_compression(std::span(in.buf).subspan(in.pos, in.available())) ==
                   Compression::Gzip) {
          inflateReset(&z_);
        } else {
          return invalid_argument("corrupt gzip stream: " + std::to_string(in.available()) +
                                  "+ bytes of trailing garbage after the last member");
        }
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return invalid_argument(std::string("corrupt gzip stream: ") +
                                (z_.msg ? z_.msg : "inflate failed"));
      }
      if (produced > 0)
        return produced;
    }
  }

private:
  z_stream z_;
  bool ok_ = false;
  bool done_ = false;
};

class ZstdDecoder final : public Decoder {
public:
  ZstdDecoder() : ctx_(ZSTD_createDCtx()) {}
  ~ZstdDecoder() override { ZSTD_freeDCtx(ctx_); }

  Result<std::size_t> read(Input& in, std::span<std::byte> out) override {
    if (!ctx_)
      return internal_error("cannot initialise zstd");
    for (;;) {
      if (auto st = in.fill(); !st)
        return st.error();
      if (in.available() == 0 && in.eof) {
        if (frame_open_)
          return invalid_argument("corrupt zstd stream: truncated (the input ended inside a "
                                  "frame)");
        return std::size_t{0};
      }
      ZSTD_inBuffer zin{in.buf.data() + in.pos, in.available(), 0};
      ZSTD_outBuffer zout{out.data(), out.size(), 0};
      std::size_t rc = ZSTD_decompressStream(ctx_, &zout, &zin);
      in.pos += zin.pos;
      if (ZSTD_isError(rc))
        return invalid_argument(std::string("corrupt zstd stream: ") + ZSTD_getErrorName(rc));
      frame_open_ = rc != 0;
      if (zout.pos > 0)
        return zout.pos;
    }
  }

private:
  ZSTD_DCtx* ctx_;
  bool frame_open_ = false;
};

class Passthrough final : public Decoder {
public:
  Result<std::size_t> read(Input& in, std::span<std::byte> out) override {
    if (auto st = in.fill(); !st)
      return st.error();
    std::size_t n = std::min(out.size(), in.available());
    std::memcpy(out.data(), in.buf.data() + in.pos, n);
    in.pos += n;
    return n;
  }
};

struct State {
  Input in;
  std::optional<Compression> codec;
  std::unique_ptr<Decoder> decoder;
  std::uint64_t max_output = 0;
  std::uint64_t produced = 0;
  std::optional<Error> failed;
};

// One read of the decompressed stream; the first call picks the decoder.
Result<std::size_t> pull(State& s, std::span<std::byte> buf) {
  if (s.failed)
    return *s.failed;
  auto fail = [&](Error e) -> Result<std::size_t> {
    s.failed = e;
    return e;
  };
  if (!s.decoder) {
    if (!s.codec) {
      if (auto st = s.in.peek(4); !st)
        return fail(st.error());
      s.codec = detect_compression(std::span(s.in.buf).subspan(s.in.pos, s.in.available()));
    }
    switch (*s.codec) {
    case Compression::Gzip:
      s.decoder = std::make_unique<GzipDecoder>();
      break;
    case Compression::Zstd:
      s.decoder = std::make_unique<ZstdDecoder>();
      break;
    case Compression::None:
      s.decoder = std::make_unique<Passthrough>();
      break;
    }
  }
  if (buf.empty())
    return std::size_t{0};
  auto n = s.decoder->read(s.in, buf);
  if (!n)
    return fail(std::move(n).error());
  s.produced += *n;
  if (s.max_output > 0 && s.produced > s.max_output)
    return fail(Error(Code::ResourceExhausted, "decompressed layer exceeds the limit of " +
                                                   std::to_string(s.max_output) +
                                                   " bytes (a decompression bomb?)"));
  return n;
}

} // namespace

contentio::Source decompressing(contentio::Source compressed, std::optional<Compression> codec,
                                std::uint64_t max_output) {
  auto state = std::make_shared<State>();
  state->in.source = std::move(compressed);
  state->codec = codec;
  state->max_output = max_output;
  return [state](std::span<std::byte> buf) -> Result<std::size_t> {
    try {
      return pull(*state, buf);
    } catch (const std::exception& e) {
      state->failed = internal_error(std::string("decompressing: ") + e.what());
      return *state->failed;
    }
  };
}

} // namespace strata::archive
