// compressing(): gzip (zlib) and zstd writers into a Sink, deterministic for the same input.

#include "strata/archive/compression.hpp"
#include "strata/plugin/try.hpp"

#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <vector>

namespace strata::archive {

CompressingWriter::~CompressingWriter() = default;

namespace {

constexpr std::size_t out_chunk = 256 * 1024;

class Passthrough final : public CompressingWriter {
public:
  explicit Passthrough(contentio::Sink out) : out_(std::move(out)) {}
  Status write(std::span<const std::byte> data) override {
    if (finished_)
      return failed_precondition("write after finish");
    return out_(data);
  }
  Status finish() override {
    if (finished_)
      return failed_precondition("finish called twice");
    finished_ = true;
    return {};
  }

private:
  contentio::Sink out_;
  bool finished_ = false;
};

class GzipWriter final : public CompressingWriter {
public:
  explicit GzipWriter(contentio::Sink out) : out_(std::move(out)), buf_(out_chunk) {
    std::memset(&z_, 0, sizeof z_);
    // windowBits 16+: a gzip wrapper. Its header is set explicitly: no name, no comment,
    // mtime 0 and OS 255 ("unknown", as Go's compress/gzip writes) instead of zlib's build-time
    // OS code, so equal input gives equal bytes whatever host or zlib build wrote them.
    std::memset(&header_, 0, sizeof header_);
    header_.os = 255;
    ok_ = deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) == Z_OK &&
          deflateSetHeader(&z_, &header_) == Z_OK;
  }
  ~GzipWriter() override { deflateEnd(&z_); }

  Status write(std::span<const std::byte> data) override {
    if (finished_)
      return failed_precondition("write after finish");
    return pump(data, Z_NO_FLUSH);
  }
  Status finish() override {
    if (finished_)
      return failed_precondition("finish called twice");
    finished_ = true;
    return pump({}, Z_FINISH);
  }

private:
  Status pump(std::span<const std::byte> data, int flush) {
    if (!ok_)
      return internal_error("cannot initialise zlib");
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    for (;;) {
      z_.next_out = reinterpret_cast<Bytef*>(buf_.data());
      z_.avail_out = static_cast<uInt>(buf_.size());
      int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR)
        return internal_error("gzip compression failed");
      std::size_t n = buf_.size() - z_.avail_out;
      if (n > 0)
        STRATA_TRY(out_(std::span(buf_).first(n)));
      if (flush == Z_FINISH ? rc == Z_STREAM_END : (z_.avail_in == 0 && z_.avail_out != 0))
        return {};
    }
  }

  contentio::Sink out_;
  std::vector<std::byte> buf_;
  z_stream z_;
  gz_header header_; // read by zlib until the header is out, so it lives as long as z_
  bool ok_ = false;
  bool finished_ = false;
};

class ZstdWriter final : public CompressingWriter {
public:
  explicit ZstdWriter(contentio::Sink out)
      : out_(std::move(out)), buf_(ZSTD_CStreamOutSize()), ctx_(ZSTD_createCCtx()) {
    if (ctx_)
      ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, 3);
  }
  ~ZstdWriter() override { ZSTD_freeCCtx(ctx_); }

  Status write(std::span<const std::byte> data) override {
    if (finished_)
      return failed_precondition("write after finish");
    return pump(data, ZSTD_e_continue);
  }
  Status finish() override {
    if (finished_)
      return failed_precondition("finish called twice");
    finished_ = true;
    return pump({}, ZSTD_e_end);
  }

private:
  Status pump(std::span<const std::byte> data, ZSTD_EndDirective mode) {
    if (!ctx_)
      return internal_error("cannot initialise zstd");
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
      std::size_t remaining = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(remaining))
        return internal_error(std::string("zstd compression failed: ") +
                              ZSTD_getErrorName(remaining));
      if (out.pos > 0)
        STRATA_TRY(out_(std::span(buf_).first(out.pos)));
      if (mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size)
        return {};
    }
  }

  contentio::Sink out_;
  std::vector<std::byte> buf_;
  ZSTD_CCtx* ctx_;
  bool finished_ = false;
};

} // namespace

std::unique_ptr<CompressingWriter> compressing(contentio::Sink out, Compression codec) {
  switch (codec) {
  case Compression::Gzip:
    return std::make_unique<GzipWriter>(std::move(out));
  case Compression::Zstd:
    return std::make_unique<ZstdWriter>(std::move(out));
  case Compression::None:
    break;
  }
  return std::make_unique<Passthrough>(std::move(out));
}

} // namespace strata::archive
