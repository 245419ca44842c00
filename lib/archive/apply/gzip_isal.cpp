// The ISA-L (igzip) gzip decoder. Each member's header is parsed here, with zlib's checks and
// messages; isal_inflate with crc_flag = ISAL_GZIP_NO_HDR_VER then inflates the deflate data and
// checks the trailer's CRC-32 and ISIZE. Members follow one another as in the zlib decoder
// (after_gzip_member decides for both).
//
// Why not ISAL_GZIP, which parses headers too: ISA-L 2.30 (Debian 12) computes an FHCRC header
// checksum over the last input buffer only, so a valid header with FHCRC that arrives in more
// than one piece fails with ISAL_INCORRECT_CHECKSUM (decompress_test's header-fields case).

#include "decoder.hpp"

#include <strata/plugin/try.hpp>

#include <isa-l.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <limits>

namespace strata::archive::detail {

namespace {

std::string isal_reason(int rc) {
  switch (rc) {
  case ISAL_INVALID_BLOCK:
    return "invalid deflate block";
  case ISAL_INVALID_SYMBOL:
    return "invalid deflate symbol";
  case ISAL_INVALID_LOOKBACK:
    return "invalid distance too far back";
  case ISAL_INCORRECT_CHECKSUM:
    return "CRC-32 or length in the trailer does not match the data";
  case ISAL_NEED_DICT:
    return "the stream needs a preset dictionary";
  default:
    return "igzip status " + std::to_string(rc);
  }
}

Error truncated() {
  return invalid_argument("corrupt gzip stream: truncated (the input ended inside a member)");
}

// Consumes one member header (RFC 1952 2.3) from `in`, across as many refills as it takes.
// Errors: InvalidArgument with zlib's wording; the input's own errors.
class HeaderReader {
public:
  explicit HeaderReader(Input& in) : in_(in) {}

  Status read() {
    std::uint8_t fixed[10];
    STRATA_TRY(take(fixed, sizeof fixed));
    if (fixed[0] != 0x1f || fixed[1] != 0x8b)
      return invalid_argument("corrupt gzip stream: incorrect header check");
    if (fixed[2] != 8)
      return invalid_argument("corrupt gzip stream: unknown compression method");
    const std::uint8_t flags = fixed[3];
    if (flags & 0xe0)
      return invalid_argument("corrupt gzip stream: unknown header flags set");
    if (flags & 0x04) { // FEXTRA: XLEN, then XLEN bytes
      std::uint8_t xlen[2];
      STRATA_TRY(take(xlen, sizeof xlen));
      if (auto st = skip(xlen[0] | std::size_t{xlen[1]} << 8); !st)
        return st;
    }
    for (std::uint8_t field : {std::uint8_t{0x08}, std::uint8_t{0x10}}) // FNAME, FCOMMENT
      if (flags & field)
        STRATA_TRY(skip_string());
    if (flags & 0x02) { // FHCRC: the low 16 bits of the CRC-32 of the header so far
      const auto expected = static_cast<std::uint16_t>(crc_ & 0xffff);
      std::uint8_t hcrc[2];
      STRATA_TRY(take(hcrc, sizeof hcrc));
      if ((hcrc[0] | hcrc[1] << 8) != expected)
        return invalid_argument("corrupt gzip stream: header crc mismatch");
    }
    return {};
  }

private:
  // Makes at least one byte available. Errors: truncated, or the input's.
  Status more() {
    STRATA_TRY(in_.fill());
    return in_.available() > 0 ? Status{} : Status{truncated()};
  }
  std::span<const std::byte> consume(std::size_t n) {
    auto bytes = in_.view().first(n);
    crc_ =
        crc32(crc_, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
    in_.pos += n;
    return bytes;
  }
  Status take(std::uint8_t* out, std::size_t n) {
    while (n > 0) {
      STRATA_TRY(more());
      auto bytes = consume(std::min(n, in_.available()));
      std::memcpy(out, bytes.data(), bytes.size());
      out += bytes.size();
      n -= bytes.size();
    }
    return {};
  }
  Status skip(std::size_t n) {
    while (n > 0) {
      STRATA_TRY(more());
      n -= consume(std::min(n, in_.available())).size();
    }
    return {};
  }
  Status skip_string() { // through the terminating zero
    for (;;) {
      STRATA_TRY(more());
      auto view = in_.view();
      auto zero = std::find(view.begin(), view.end(), std::byte{0});
      const bool found = zero != view.end();
      consume(static_cast<std::size_t>(zero - view.begin()) + (found ? 1 : 0));
      if (found)
        return {};
    }
  }

  Input& in_;
  uLong crc_ = crc32(0, nullptr, 0);
};

class IsalGzipDecoder final : public Decoder {
public:
  IsalGzipDecoder() : state_(std::make_unique<inflate_state>()) {}

  Result<std::size_t> read(Input& in, std::span<std::byte> out) override {
    // Both counts are 32-bit in ISA-L; a shorter read is always allowed.
    const std::size_t room =
        std::min<std::size_t>(out.size(), std::numeric_limits<std::uint32_t>::max());
    for (;;) {
      if (done_)
        return std::size_t{0};
      if (!in_member_) {
        STRATA_TRY(HeaderReader(in).read());
        isal_inflate_init(state_.get());
        state_->crc_flag = ISAL_GZIP_NO_HDR_VER; // inflate, then check CRC-32 and ISIZE
        in_member_ = true;
      }
      STRATA_TRY(in.fill());
      inflate_state& s = *state_;
      const std::size_t in_before = in.available();
      s.next_in = reinterpret_cast<std::uint8_t*>(in.buf.data() + in.pos);
      s.avail_in = static_cast<std::uint32_t>(in_before);
      s.next_out = reinterpret_cast<std::uint8_t*>(out.data());
      s.avail_out = static_cast<std::uint32_t>(room);
      const int rc = isal_inflate(&s);
      in.pos += in_before - s.avail_in;
      const std::size_t consumed = in_before - s.avail_in;
      const std::size_t produced = room - s.avail_out;
      if (rc < 0)
        return invalid_argument("corrupt gzip stream: " + isal_reason(rc));
      if (s.block_state == ISAL_BLOCK_FINISH) {
        // The trailer was read and checked; ISA-L consumes exactly up to its end.
        STRATA_TRY_ASSIGN(auto next, after_gzip_member(in));
        in_member_ = false;
        done_ = next == AfterMember::End;
      } else if (produced == 0 && consumed == 0) {
        // No progress: only possible once the input is exhausted (ISA-L takes every byte it is
        // offered, buffering what it cannot decode yet).
        if (in.available() == 0 && in.eof)
          return truncated();
        if (in.available() > 0)
          return internal_error("igzip made no progress on " + std::to_string(in.available()) +
                                " bytes of input");
      }
      if (produced > 0)
        return produced;
    }
  }

private:
  // ~100 KiB: on the heap.
  std::unique_ptr<inflate_state> state_;
  bool in_member_ = false; // its header was read; the deflate data or trailer is next
  bool done_ = false;
};

} // namespace

bool isal_built_in() noexcept {
  return true;
}

std::unique_ptr<Decoder> make_isal_gzip_decoder() {
  return std::make_unique<IsalGzipDecoder>();
}

} // namespace strata::archive::detail
