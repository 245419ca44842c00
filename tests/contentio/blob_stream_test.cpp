// lib/contentio against readers that lie: BlobStream, read_all and ingest must turn every
// nonsensical answer into a clear error, never a crash, a hang or a short blob.
#include <strata/contentio/blob_source.hpp>
#include <strata/contentio/blob_stream.hpp>
#include <strata/contentio/ingest.hpp>
#include <strata/contentio/read_all.hpp>
#include <strata/digest/sha256.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>

namespace {

using strata::Code;
using strata::Result;
using strata::contentio::BlobStream;

// A ReaderAt over a string whose answers can be overridden per call.
class FakeReader final : public strata::ReaderAt {
public:
  // (buffer size, offset) -> the count to claim; nullopt: behave honestly.
  using Lie = std::function<std::optional<Result<std::size_t>>(std::size_t, std::int64_t)>;

  FakeReader(std::string data, std::int64_t declared, Lie lie = {})
      : data_(std::move(data)), declared_(declared), lie_(std::move(lie)) {}

  std::int64_t size() const override { return declared_; }
  Result<std::size_t> read_at(std::span<std::byte> buf, std::int64_t offset) override {
    ++calls;
    if (lie_)
      if (auto r = lie_(buf.size(), offset))
        return *r;
    if (offset < 0 || offset > static_cast<std::int64_t>(data_.size()))
      return strata::Error(Code::OutOfRange, "offset beyond end");
    std::size_t n = std::min(buf.size(), data_.size() - static_cast<std::size_t>(offset));
    std::memcpy(buf.data(), data_.data() + offset, n);
    return n;
  }

  int calls = 0;

private:
  std::string data_;
  std::int64_t declared_;
  Lie lie_;
};

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + (i * 7) % 26);
  return s;
}

// Drains a stream; the error, or the bytes when it succeeds.
Result<std::string> drain(BlobStream& s) {
  std::string out;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    auto chunk = s.next();
    if (!chunk)
      return std::move(chunk).error();
    if (chunk->empty())
      return out;
    out.append(reinterpret_cast<const char*>(chunk->data()), chunk->size());
  }
  ADD_FAILURE() << "stream never ended";
  return strata::internal_error("no end");
}

const std::string kDigest = strata::digest::sha256_of("not really this blob");

TEST(BlobStream, ReadsAnHonestBlobInChunks) {
  std::string data = pattern(10'000);
  FakeReader r(data, static_cast<std::int64_t>(data.size()));
  BlobStream s(r, "blob", 4096);
  auto out = drain(s);
  ASSERT_TRUE(out) << out.error().to_string();
  EXPECT_EQ(*out, data);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(r.calls, 3);
}

TEST(BlobStream, EmptyBlobNeverCallsTheReader) {
  FakeReader r("", 0);
  BlobStream s(r, "empty");
  auto out = drain(s);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, "");
  EXPECT_EQ(r.calls, 0);
}

TEST(BlobStream, CountLargerThanTheBufferIsDataLoss) {
  FakeReader r(pattern(100), 100, [](std::size_t n, std::int64_t) {
    return std::optional<Result<std::size_t>>(n + 1);
  });
  BlobStream s(r, kDigest, 64);
  auto out = drain(s);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DataLoss);
  EXPECT_NE(out.error().message().find("nonsensical count"), std::string::npos);
  EXPECT_NE(out.error().message().find(kDigest), std::string::npos);
}

TEST(BlobStream, NegativeCountIsDataLossNotAHugeRead) {
  // The seed bug: a custom store returned -1, which a size_t turns into a giant count.
  FakeReader r(pattern(100), 100, [](std::size_t, std::int64_t) {
    return std::optional<Result<std::size_t>>(static_cast<std::size_t>(-1));
  });
  BlobStream s(r, kDigest, 64);
  auto out = drain(s);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DataLoss);
  EXPECT_NE(out.error().message().find("-1"), std::string::npos) << out.error().message();
  EXPECT_EQ(r.calls, 1);
}

TEST(BlobStream, ZeroCountBeforeTheEndIsAShortBlob) {
  // Declares 1000 bytes, has 300: the stream must not hand out 300 bytes as the whole blob.
  FakeReader r(pattern(300), 1000);
  BlobStream s(r, kDigest, 128);
  auto out = drain(s);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DataLoss);
  const std::string& m = out.error().message();
  EXPECT_NE(m.find("short blob"), std::string::npos) << m;
  EXPECT_NE(m.find(kDigest), std::string::npos) << m;
  EXPECT_NE(m.find("offset 300"), std::string::npos) << m;
  EXPECT_NE(m.find("1000"), std::string::npos) << m;
  EXPECT_FALSE(s.done());
}

TEST(BlobStream, ReaderErrorIsPropagatedWithContext) {
  FakeReader r(pattern(100), 100, [](std::size_t, std::int64_t off) {
    if (off >= 64)
      return std::optional<Result<std::size_t>>(strata::unavailable("disk went away"));
    return std::optional<Result<std::size_t>>();
  });
  BlobStream s(r, kDigest, 64);
  auto first = s.next();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 64u);
  auto second = s.next();
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code(), Code::Unavailable);
  EXPECT_NE(second.error().message().find("disk went away"), std::string::npos);
  EXPECT_NE(second.error().message().find("offset 64"), std::string::npos);
  // A failed stream stays failed and does not ask the reader again.
  int calls = r.calls;
  auto third = s.next();
  ASSERT_FALSE(third);
  EXPECT_EQ(r.calls, calls);
}

TEST(BlobStream, NegativeDeclaredSizeIsDataLoss) {
  FakeReader r("abc", -5);
  BlobStream s(r, "x");
  auto out = drain(s);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DataLoss);
  EXPECT_EQ(r.calls, 0);
}

TEST(BlobStream, NeverReadsPastTheDeclaredSize) {
  // The reader has more bytes than it declares; only the declared ones come out.
  FakeReader r(pattern(200), 50);
  BlobStream s(r, "x", 64);
  auto out = drain(s);
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, pattern(200).substr(0, 50));
}

TEST(BlobStream, VerifiesTheDigestWhenAsked) {
  std::string data = pattern(5000);
  FakeReader good(data, 5000);
  BlobStream ok(good, strata::digest::sha256_of(data), 1000, true);
  ASSERT_TRUE(drain(ok));

  FakeReader bad(data, 5000);
  BlobStream wrong(bad, kDigest, 1000, true);
  auto out = drain(wrong);
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().code(), Code::DataLoss);
}

TEST(ReadAll, ReadsAndEnforcesTheLimit) {
  std::string data = pattern(3000);
  FakeReader r(data, 3000);
  auto all = strata::contentio::read_all(r, 3000);
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, data);

  FakeReader big(data, 3000);
  auto refused = strata::contentio::read_all(big, 2999, "sha256:x");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Code::ResourceExhausted);
  EXPECT_EQ(big.calls, 0);
}

TEST(ReadAll, ShortAndLyingReadersAreErrors) {
  FakeReader shortr(pattern(10), 20);
  auto s = strata::contentio::read_all(shortr, 1 << 20);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Code::DataLoss);

  FakeReader liar(pattern(10), 10, [](std::size_t n, std::int64_t) {
    return std::optional<Result<std::size_t>>(n * 2);
  });
  auto l = strata::contentio::read_all(liar, 1 << 20);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code(), Code::DataLoss);
}

// An in-memory ContentStore: enough of one to drive ingest().
class MemStore final : public strata::ContentStore {
public:
  std::map<std::string, std::string> blobs;
  int writers = 0;

  class Writer final : public strata::ContentWriter {
  public:
    explicit Writer(MemStore& s) : s_(s) {}
    strata::Status write(std::span<const std::byte> d) override {
      data_.append(reinterpret_cast<const char*>(d.data()), d.size());
      return {};
    }
    std::int64_t offset() const override { return static_cast<std::int64_t>(data_.size()); }
    strata::Status commit(std::int64_t size, const std::string& digest,
                          const strata::Labels&) override {
      std::string actual = strata::digest::sha256_of(data_);
      if ((size > 0 && size != offset()) || (!digest.empty() && digest != actual))
        return strata::failed_precondition("mismatch");
      if (s_.blobs.contains(actual))
        return strata::already_exists("exists");
      s_.blobs[actual] = data_;
      return {};
    }

  private:
    MemStore& s_;
    std::string data_;
  };

  Result<strata::ContentInfo> info(const std::string& d) override {
    auto it = blobs.find(d);
    if (it == blobs.end())
      return strata::not_found(d);
    strata::ContentInfo i;
    i.digest = d;
    i.size = static_cast<std::int64_t>(it->second.size());
    return i;
  }
  Result<strata::ContentInfo> update(const strata::ContentInfo&,
                                     const std::vector<std::string>&) override {
    return strata::not_implemented("update");
  }
  strata::Status walk(const strata::ContentWalkFn&, const std::vector<std::string>&) override {
    return strata::not_implemented("walk");
  }
  strata::Status remove(const std::string&) override { return strata::not_implemented("rm"); }
  Result<std::shared_ptr<strata::ReaderAt>> reader(const std::string&) override {
    return strata::not_implemented("reader");
  }
  Result<std::unique_ptr<strata::ContentWriter>> writer(const std::string&,
                                                        const strata::Descriptor&) override {
    ++writers;
    return std::unique_ptr<strata::ContentWriter>(std::make_unique<Writer>(*this));
  }
};

// A Source over a string, `step` bytes at a time.
strata::contentio::Source string_source(std::string data, std::size_t step) {
  auto pos = std::make_shared<std::size_t>(0);
  return [data = std::move(data), step, pos](std::span<std::byte> buf) -> Result<std::size_t> {
    std::size_t n = std::min({step, buf.size(), data.size() - *pos});
    std::memcpy(buf.data(), data.data() + *pos, n);
    *pos += n;
    return n;
  };
}

TEST(Ingest, CopiesVerifiesAndTreatsExistingAsSuccess) {
  MemStore store;
  std::string data = pattern(50'000);
  strata::Descriptor d{"application/octet-stream",
                       strata::digest::sha256_of(data),
                       static_cast<std::int64_t>(data.size()),
                       {}};
  ASSERT_TRUE(strata::contentio::ingest(store, "r1", d, string_source(data, 777)));
  EXPECT_EQ(store.blobs.at(d.digest), data);
  // Present already: success without opening a writer.
  ASSERT_TRUE(strata::contentio::ingest(store, "r2", d, string_source(data, 777)));
  EXPECT_EQ(store.writers, 1);
}

TEST(Ingest, MismatchAndSourceErrorsAreReported) {
  MemStore store;
  strata::Descriptor d{"", strata::digest::sha256_of("other"), 0, {}};
  auto st = strata::contentio::ingest(store, "r", d, string_source("data", 2));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::FailedPrecondition);

  auto failing = [](std::span<std::byte>) -> Result<std::size_t> {
    return strata::unavailable("network down");
  };
  st = strata::contentio::ingest(store, "r", {}, failing);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::Unavailable);
  EXPECT_NE(st.error().message().find("ref \"r\""), std::string::npos);

  auto lying = [](std::span<std::byte> buf) -> Result<std::size_t> { return buf.size() + 1; };
  st = strata::contentio::ingest(store, "r", {}, lying);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), Code::DataLoss);
  EXPECT_TRUE(store.blobs.empty());
}

} // namespace

namespace {

// Pulls a Source dry through a buffer of `step` bytes.
Result<std::string> pull_all(const strata::contentio::Source& src, std::size_t step) {
  std::string out;
  std::vector<std::byte> buf(step);
  for (;;) {
    auto n = src(buf);
    if (!n)
      return std::move(n).error();
    if (*n == 0)
      return out;
    out.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

TEST(BlobSource, DeliversTheWholeBlobThroughSmallBuffers) {
  const std::string data = pattern(3 * 1024 * 1024 + 17);
  auto reader = std::make_shared<FakeReader>(data, static_cast<std::int64_t>(data.size()));
  auto src = strata::contentio::blob_source(reader, strata::digest::sha256_of(data), true);
  auto got = pull_all(src, 1000);
  ASSERT_TRUE(got) << got.error().to_string();
  EXPECT_EQ(*got, data);
}

TEST(BlobSource, ShortBlobIsAnErrorNotAShortStream) {
  const std::string data = pattern(5000);
  // The reader declares more than it has and then reports the end early.
  auto reader = std::make_shared<FakeReader>(data, 9000, [](std::size_t, std::int64_t off) {
    return off >= 5000 ? std::optional<Result<std::size_t>>(std::size_t{0}) : std::nullopt;
  });
  auto got = pull_all(strata::contentio::blob_source(reader, "x", false), 4096);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), Code::DataLoss);
}

TEST(BlobSource, DigestMismatchIsDataLoss) {
  const std::string data = pattern(10000);
  auto reader = std::make_shared<FakeReader>(data, static_cast<std::int64_t>(data.size()));
  auto got = pull_all(
      strata::contentio::blob_source(reader, strata::digest::sha256_of("other"), true), 4096);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code(), Code::DataLoss);
}

} // namespace
