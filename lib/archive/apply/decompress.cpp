// decompressing(): gzip (ISA-L or zlib, multi-member) and zstd as pull Sources, with a bomb
// guard. The ISA-L decoder is in gzip_isal.cpp.

#include "decoder.hpp"

#include <strata/plugin/try.hpp>

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <vector>

namespace strata::archive {

namespace detail {

Result<AfterMember> after_gzip_member(Input& in) {
  STRATA_TRY(in.peek(3));
  if (in.available() == 0)
    return AfterMember::End;
  if (detect_compression(in.view()) == Compression::Gzip)
    return AfterMember::NextMember;
  return invalid_argument("corrupt gzip stream: " + std::to_string(in.available()) +
                          "+ bytes of trailing garbage after the last member");
}

} // namespace detail

namespace {

using detail::Decoder;
using detail::Input;

class ZlibGzipDecoder final : public Decoder {
public:
  ZlibGzipDecoder() {
    std::memset(&z_, 0, sizeof z_);
    ok_ = inflateInit2(&z_, 16 + MAX_WBITS) == Z_OK;
  }
  ~ZlibGzipDecoder() override { inflateEnd(&z_); }

  Result<std::size_t> read(Input& in, std::span<std::byte> out) override {
    if (!ok_)
      return internal_error("cannot initialise zlib");
    for (;;) {
      if (done_)
        return std::size_t{0};
      STRATA_TRY(in.fill());
      if (in.available() == 0 && in.eof)
        return invalid_argument("corrupt gzip stream: truncated (the input ended inside a member)");
      z_.next_in = reinterpret_cast<Bytef*>(in.buf.data() + in.pos);
      z_.avail_in = static_cast<uInt>(in.available());
      z_.next_out = reinterpret_cast<Bytef*>(out.data());
      const std::size_t room = std::min<std::size_t>(out.size(), std::numeric_limits<uInt>::max());
      z_.avail_out = static_cast<uInt>(room);
      int rc = inflate(&z_, Z_NO_FLUSH);
      in.pos = in.end - z_.avail_in;
      std::size_t produced = room - z_.avail_out;
      if (rc == Z_STREAM_END) {
        STRATA_TRY_ASSIGN(auto next, detail::after_gzip_member(in));
        if (next == detail::AfterMember::End)
          done_ = true;
        else
          inflateReset(&z_);
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
      STRATA_TRY(in.fill());
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
    STRATA_TRY(in.fill());
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
  GzipDecoder gzip = GzipDecoder::Isal;
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
      s.codec = detect_compression(s.in.view());
    }
    switch (*s.codec) {
    case Compression::Gzip:
      if (s.gzip == GzipDecoder::Isal)
        s.decoder = detail::make_isal_gzip_decoder();
      if (!s.decoder)
        s.decoder = detail::make_zlib_gzip_decoder();
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

namespace detail {

std::unique_ptr<Decoder> make_zlib_gzip_decoder() {
  return std::make_unique<ZlibGzipDecoder>();
}

} // namespace detail

std::string_view to_string(GzipDecoder d) noexcept {
  return d == GzipDecoder::Isal ? "isal" : "zlib";
}

bool isal_available() noexcept {
  return detail::isal_built_in();
}

GzipDecoder effective(GzipDecoder requested) noexcept {
  return requested == GzipDecoder::Isal && !isal_available() ? GzipDecoder::Zlib : requested;
}

contentio::Source decompressing(contentio::Source compressed, std::optional<Compression> codec,
                                const DecompressOptions& options) {
  auto state = std::make_shared<State>();
  state->in.source = std::move(compressed);
  state->codec = codec;
  state->gzip = options.gzip;
  state->max_output = options.max_output;
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
