// decompressing() with both gzip decoders: ISA-L and zlib must give the same bytes on a corpus
// (random, compressible, empty, stored blocks, header fields, many members, > 16 MiB) at any
// input and output chunking, and the same error codes on corrupt, truncated, bad-CRC and
// bad-length input and past the output limit.
#include "tar_builder.hpp"

#include <strata/archive/compression.hpp>

#include <gtest/gtest.h>
#include <zlib.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace strata::testing {
namespace {

using archive::Compression;
using archive::DecompressOptions;
using archive::GzipDecoder;

constexpr GzipDecoder both[] = {GzipDecoder::Isal, GzipDecoder::Zlib};

std::string name_of(GzipDecoder d) {
  return std::string(archive::to_string(d));
}

// gzip with every knob the corpus needs: level (0: stored blocks), strategy, header fields.
struct GzOptions {
  int level = 6;
  int strategy = Z_DEFAULT_STRATEGY;
  std::string name = {}, comment = {}, extra = {};
  bool hcrc = false;
};

std::string gz(const std::string& data, const GzOptions& o = {}) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, o.level, Z_DEFLATED, 16 + MAX_WBITS, 8, o.strategy), Z_OK);
  gz_header h{};
  std::string name = o.name, comment = o.comment, extra = o.extra;
  if (!name.empty() || !comment.empty() || !extra.empty() || o.hcrc) {
    h.name = name.empty() ? Z_NULL : reinterpret_cast<Bytef*>(name.data());
    h.comment = comment.empty() ? Z_NULL : reinterpret_cast<Bytef*>(comment.data());
    h.extra = extra.empty() ? Z_NULL : reinterpret_cast<Bytef*>(extra.data());
    h.extra_len = static_cast<uInt>(extra.size());
    h.hcrc = o.hcrc ? 1 : 0;
    h.os = 3;
    EXPECT_EQ(deflateSetHeader(&z, &h), Z_OK);
  }
  std::string out(deflateBound(&z, data.size()) + 1024, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

// Text-like: words from a small vocabulary, so that deflate finds matches at every distance.
std::string text(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> words;
  for (int i = 0; i < 500; ++i) {
    std::string w;
    for (int j = 0, len = 2 + static_cast<int>(rng() % 9); j < len; ++j)
      w += static_cast<char>('a' + rng() % 26);
    words.push_back(w);
  }
  std::string s;
  s.reserve(n + 16);
  while (s.size() < n)
    s += words[rng() % words.size()] + (rng() % 13 == 0 ? "\n" : " ");
  s.resize(n);
  return s;
}

struct Outcome {
  std::string bytes;
  std::optional<Error> error;
};

// Reads the whole stream in `read_size` pieces from an input delivered `step` bytes at a time.
Outcome inflate_all(const std::string& compressed, GzipDecoder decoder, std::size_t step,
                    std::size_t read_size, std::optional<Compression> codec = Compression::Gzip,
                    std::uint64_t max_output = 0) {
  auto src = archive::decompressing(string_source(compressed, step), codec,
                                    DecompressOptions{.max_output = max_output, .gzip = decoder});
  Outcome out;
  std::vector<std::byte> buf(read_size);
  for (;;) {
    auto n = src(buf);
    if (!n) {
      out.error = n.error();
      // Sticky: the same error again.
      auto again = src(buf);
      EXPECT_FALSE(again);
      if (!again) {
        EXPECT_EQ(again.error().to_string(), n.error().to_string());
      }
      return out;
    }
    if (*n == 0)
      return out;
    EXPECT_LE(*n, buf.size());
    out.bytes.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

struct Case {
  std::string label;
  std::string data;       // what the stream decompresses to
  std::string compressed; // its gzip form
};

std::vector<Case> corpus() {
  std::vector<Case> c;
  auto add = [&](std::string label, std::string data, std::string compressed) {
    c.push_back({std::move(label), std::move(data), std::move(compressed)});
  };
  const std::string rnd = random_bytes(3 << 20, 1);
  add("random", rnd, gz(rnd));
  const std::string zeros(20 << 20, '\0');
  add("zeros", zeros, gz(zeros, {.level = 9}));
  const std::string txt = text(2 << 20, 2);
  add("text", txt, gz(txt));
  add("text-level1", txt, gz(txt, {.level = 1}));
  add("text-stored", txt, gz(txt, {.level = 0}));
  add("text-huffman-only", txt, gz(txt, {.strategy = Z_HUFFMAN_ONLY}));
  add("text-fixed-codes", txt, gz(txt, {.strategy = Z_FIXED}));
  add("empty", "", gz(""));
  add("one-byte", "x", gz("x"));
  add("header-fields", txt.substr(0, 100000),
      gz(txt.substr(0, 100000),
         {.name = "layer.tar", .comment = "a comment", .extra = "AB\x04\0data", .hcrc = true}));
  const std::string a = text(300000, 3), b = random_bytes(70000, 4);
  add("multi-member", a + b + a, gz(a) + gz(b, {.level = 0}) + gz("") + gz(a, {.name = "second"}));
  add("many-small-members", std::string(2000, 'm'), [] {
    std::string s;
    for (int i = 0; i < 2000; ++i)
      s += gz("m");
    return s;
  }());
  // > 16 MiB of mixed content: matches across every window position, plus incompressible runs.
  std::string large;
  for (unsigned i = 0; large.size() < (24u << 20); ++i)
    large += i % 3 == 0 ? random_bytes(1 << 20, 100 + i) : text(3 << 20, 200 + i);
  add("large-mixed", large, gz(large));
  return c;
}

TEST(GzipDecoders, IsalIsBuiltInWhenMesonFoundIt) {
#ifdef STRATA_TEST_EXPECT_ISAL
  EXPECT_TRUE(archive::isal_available());
  EXPECT_EQ(archive::effective(GzipDecoder::Isal), GzipDecoder::Isal);
#else
  EXPECT_FALSE(archive::isal_available());
  EXPECT_EQ(archive::effective(GzipDecoder::Isal), GzipDecoder::Zlib);
#endif
  EXPECT_EQ(archive::effective(GzipDecoder::Zlib), GzipDecoder::Zlib);
  EXPECT_EQ(archive::to_string(GzipDecoder::Isal), "isal");
  EXPECT_EQ(archive::to_string(GzipDecoder::Zlib), "zlib");
}

TEST(GzipDecoders, ByteIdenticalOnTheCorpusAtAnyChunking) {
  for (const auto& c : corpus()) {
    // Large inputs in large and odd pieces; small ones also byte by byte.
    std::vector<std::pair<std::size_t, std::size_t>> chunking = {
        {1 << 16, 1 << 20}, {4093, 256 * 1024}, {1 << 20, 7}};
    if (c.compressed.size() < 200000)
      chunking.push_back({1, 1});
    if (c.data.size() > (8u << 20))
      chunking = {{1 << 16, 1 << 20}, {4093, 65521}};
    for (auto [step, read_size] : chunking) {
      for (GzipDecoder d : both) {
        SCOPED_TRACE(c.label + " with " + name_of(d) + ", input step " + std::to_string(step) +
                     ", reads of " + std::to_string(read_size));
        auto out = inflate_all(c.compressed, d, step, read_size);
        ASSERT_FALSE(out.error) << out.error->to_string();
        ASSERT_EQ(out.bytes.size(), c.data.size());
        ASSERT_TRUE(out.bytes == c.data);
      }
    }
  }
}

TEST(GzipDecoders, DetectedByMagicToo) {
  const std::string txt = text(100000, 5);
  for (GzipDecoder d : both) {
    auto out = inflate_all(gz(txt) + gz(txt), d, 1000, 4096, std::nullopt);
    ASSERT_FALSE(out.error) << out.error->to_string();
    EXPECT_TRUE(out.bytes == txt + txt);
  }
}

// Both decoders give InvalidArgument with a "corrupt gzip stream: " message.
void expect_corrupt(const std::string& compressed, const std::string& what,
                    std::size_t step = 1 << 16, std::size_t read_size = 1 << 16) {
  for (GzipDecoder d : both) {
    SCOPED_TRACE(what + " with " + name_of(d) + ", step " + std::to_string(step));
    auto out = inflate_all(compressed, d, step, read_size);
    ASSERT_TRUE(out.error) << "decoded " << out.bytes.size() << " bytes without an error";
    EXPECT_EQ(out.error->code(), Code::InvalidArgument) << out.error->to_string();
    EXPECT_EQ(out.error->message().rfind("corrupt gzip stream: ", 0), 0u) << out.error->to_string();
  }
}

TEST(GzipDecoders, TruncatedAnywhereIsInvalidArgument) {
  const std::string txt = text(200000, 6);
  const std::string good = gz(txt);
  for (std::size_t cut :
       {std::size_t{3}, std::size_t{5}, std::size_t{10}, std::size_t{11}, good.size() / 2,
        good.size() - 9, good.size() - 8, good.size() - 5, good.size() - 1}) {
    expect_corrupt(good.substr(0, cut), "cut at " + std::to_string(cut));
    expect_corrupt(good.substr(0, cut), "cut at " + std::to_string(cut) + " byte by byte", 1, 1);
  }
  // A second member that ends early, and one that is only its magic.
  expect_corrupt(good + good.substr(0, good.size() / 3), "second member cut");
  expect_corrupt(good + std::string("\x1f\x8b\x08", 3), "second member only a magic");
  // Stored blocks, cut inside a block.
  const std::string stored = gz(txt, {.level = 0});
  expect_corrupt(stored.substr(0, stored.size() / 2), "stored block cut");
  // Header fields, cut inside the name.
  const std::string named = gz(txt, {.name = "a-rather-long-file-name.tar"});
  expect_corrupt(named.substr(0, 20), "cut inside the name", 1, 1);
}

TEST(GzipDecoders, EmptyInputForAKnownGzipIsTruncated) {
  expect_corrupt("", "empty input");
}

TEST(GzipDecoders, BadCrcAndBadLengthAreInvalidArgument) {
  const std::string txt = text(200000, 7);
  std::string bad_crc = gz(txt);
  bad_crc[bad_crc.size() - 8] = static_cast<char>(bad_crc[bad_crc.size() - 8] ^ 0x01);
  expect_corrupt(bad_crc, "bad CRC-32");
  std::string bad_len = gz(txt);
  bad_len[bad_len.size() - 4] = static_cast<char>(bad_len[bad_len.size() - 4] ^ 0x01);
  expect_corrupt(bad_len, "bad ISIZE");
  // In the first of two members.
  std::string first_bad = gz(txt);
  first_bad[first_bad.size() - 6] = static_cast<char>(first_bad[first_bad.size() - 6] ^ 0x80);
  expect_corrupt(first_bad + gz(txt), "bad CRC-32 in the first member");
  // Of an empty member.
  std::string empty_bad = gz("");
  empty_bad[empty_bad.size() - 1] = 1;
  expect_corrupt(empty_bad, "bad ISIZE of an empty member");
}

TEST(GzipDecoders, BadHeadersAreInvalidArgument) {
  const std::string good = gz(text(10000, 8));
  std::string method = good;
  method[2] = 7;
  expect_corrupt(method, "compression method 7");
  std::string hcrc = gz(text(10000, 8), {.hcrc = true});
  hcrc[10] = static_cast<char>(hcrc[10] ^ 0xff);
  expect_corrupt(hcrc, "bad header CRC-16");
  expect_corrupt(hcrc, "bad header CRC-16 byte by byte", 1, 1);
  std::string reserved = good;
  reserved[3] = static_cast<char>(0x20);
  expect_corrupt(reserved, "reserved flag bit");
  std::string magic = good;
  magic[1] = 0x0b;
  expect_corrupt(magic, "wrong magic");
}

// ISA-L 2.30's own header parser fails a valid FHCRC header that arrives in pieces; ours must
// not, at any split, in the first member or a later one.
TEST(GzipDecoders, HeaderWithEveryFieldArrivingInAnyPieces) {
  const std::string data = text(5000, 16);
  const GzOptions every{
      .name = "n.tar", .comment = "c", .extra = std::string("XY\x02\0ab", 6), .hcrc = true};
  const std::string one = gz(data, every);
  for (std::size_t step = 1; step <= 40; ++step) {
    for (GzipDecoder d : both) {
      SCOPED_TRACE(name_of(d) + ", step " + std::to_string(step));
      auto out = inflate_all(gz("x") + one + one, d, step, 4096);
      ASSERT_FALSE(out.error) << out.error->to_string();
      EXPECT_TRUE(out.bytes == "x" + data + data);
    }
  }
}

TEST(GzipDecoders, CorruptDeflateDataIsInvalidArgument) {
  const std::string good = gz(text(300000, 9));
  std::string flipped = good;
  for (std::size_t i = 20; i < flipped.size() - 10; i += 7)
    flipped[i] = static_cast<char>(flipped[i] ^ 0x5a);
  expect_corrupt(flipped, "every 7th byte flipped");
  // A reserved block type (BTYPE 11) right after the header.
  std::string reserved = good.substr(0, 10) + std::string("\x07", 1) + good.substr(11);
  expect_corrupt(reserved, "reserved block type");
}

TEST(GzipDecoders, TrailingGarbageIsInvalidArgument) {
  const std::string good = gz(text(50000, 10));
  expect_corrupt(good + "garbage!", "trailing garbage");
  expect_corrupt(good + std::string(1, '\0'), "one trailing zero");
  expect_corrupt(good + std::string(512, '\0'), "trailing zero padding");
  expect_corrupt(good + "\x1f", "half a magic");
}

// Random damage: whatever the two decoders make of it, they agree on the bytes or both fail
// with InvalidArgument.
TEST(GzipDecoders, AgreeOnRandomlyDamagedStreams) {
  const std::string txt = text(150000, 11);
  const std::string good = gz(txt) + gz(text(20000, 12), {.level = 1});
  std::mt19937 rng(12345);
  for (int round = 0; round < 300; ++round) {
    std::string damaged = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i)
      damaged[rng() % damaged.size()] ^= static_cast<char>(1 + rng() % 255);
    if (round % 5 == 0)
      damaged.resize(rng() % damaged.size());
    SCOPED_TRACE("round " + std::to_string(round));
    auto isal = inflate_all(damaged, GzipDecoder::Isal, 8191, 65536);
    auto zlib = inflate_all(damaged, GzipDecoder::Zlib, 8191, 65536);
    ASSERT_EQ(isal.error.has_value(), zlib.error.has_value())
        << "isal: " << (isal.error ? isal.error->to_string() : "ok")
        << ", zlib: " << (zlib.error ? zlib.error->to_string() : "ok");
    if (isal.error) {
      EXPECT_EQ(isal.error->code(), Code::InvalidArgument) << isal.error->to_string();
      EXPECT_EQ(zlib.error->code(), Code::InvalidArgument) << zlib.error->to_string();
    } else {
      EXPECT_TRUE(isal.bytes == zlib.bytes);
    }
  }
}

TEST(GzipDecoders, AgreeOnDamagedHeaders) {
  const std::string data = text(20000, 17);
  const std::string good = gz(
      data,
      {.name = "layer.tar", .comment = "hi", .extra = std::string("AB\x01\0z", 5), .hcrc = true});
  std::mt19937 rng(777);
  for (int round = 0; round < 300; ++round) {
    std::string damaged = good;
    damaged[rng() % 40] ^= static_cast<char>(1 + rng() % 255);
    SCOPED_TRACE("round " + std::to_string(round));
    for (std::size_t step : {std::size_t{3}, std::size_t{1 << 16}}) {
      auto isal = inflate_all(damaged, GzipDecoder::Isal, step, 65536);
      auto zlib = inflate_all(damaged, GzipDecoder::Zlib, step, 65536);
      ASSERT_EQ(isal.error.has_value(), zlib.error.has_value())
          << "isal: " << (isal.error ? isal.error->to_string() : "ok")
          << ", zlib: " << (zlib.error ? zlib.error->to_string() : "ok");
      if (isal.error)
        EXPECT_EQ(isal.error->code(), zlib.error->code());
      else
        EXPECT_TRUE(isal.bytes == zlib.bytes);
    }
  }
}

TEST(GzipDecoders, OutputLimitIsResourceExhausted) {
  const std::string bomb = gz(std::string(64 << 20, '\0'), {.level = 9});
  ASSERT_LT(bomb.size(), 1u << 20);
  for (GzipDecoder d : both) {
    SCOPED_TRACE(name_of(d));
    auto out = inflate_all(bomb, d, 1 << 16, 1 << 20, Compression::Gzip, 4 << 20);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->code(), Code::ResourceExhausted) << out.error->to_string();
    EXPECT_LE(out.bytes.size(), 4u << 20);
  }
}

TEST(GzipDecoders, OutputLimitIsInclusive) {
  const std::string data = text(100000, 13);
  const std::string compressed = gz(data);
  for (GzipDecoder d : both) {
    SCOPED_TRACE(name_of(d));
    auto exact = inflate_all(compressed, d, 1000, 777, Compression::Gzip, data.size());
    ASSERT_FALSE(exact.error) << exact.error->to_string();
    EXPECT_TRUE(exact.bytes == data);
    auto over = inflate_all(compressed, d, 1000, 777, Compression::Gzip, data.size() - 1);
    ASSERT_TRUE(over.error);
    EXPECT_EQ(over.error->code(), Code::ResourceExhausted);
  }
}

TEST(GzipDecoders, InputErrorsPassThroughUnchanged) {
  const std::string good = gz(text(100000, 14));
  for (GzipDecoder d : both) {
    std::size_t off = 0;
    contentio::Source failing = [&](std::span<std::byte> buf) -> Result<std::size_t> {
      if (off >= good.size() / 2)
        return Error(Code::Unavailable, "the blob went away");
      const std::size_t n = std::min(buf.size(), std::size_t{1000});
      std::memcpy(buf.data(), good.data() + off, n);
      off += n;
      return n;
    };
    auto src = archive::decompressing(failing, Compression::Gzip, {.gzip = d});
    std::vector<std::byte> buf(4096);
    Result<std::size_t> n = std::size_t{1};
    while (n && *n > 0)
      n = src(buf);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().to_string(), "Unavailable: the blob went away");
  }
}

TEST(Zstd, StreamsFramesInPiecesAndRefusesTruncation) {
  const std::string data = text(3 << 20, 15);
  const std::string frames = zstd(data) + zstd("") + zstd(data);
  auto out = inflate_all(frames, GzipDecoder::Isal, 4093, 65536, Compression::Zstd);
  ASSERT_FALSE(out.error) << out.error->to_string();
  EXPECT_TRUE(out.bytes == data + data);
  auto cut = inflate_all(frames.substr(0, frames.size() - 3), GzipDecoder::Isal, 4093, 65536,
                         Compression::Zstd);
  ASSERT_TRUE(cut.error);
  EXPECT_EQ(cut.error->code(), Code::InvalidArgument) << cut.error->to_string();
}

} // namespace
} // namespace strata::testing
