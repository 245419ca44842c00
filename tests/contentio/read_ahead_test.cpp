// contentio::read_ahead: the same bytes as the upstream Source at any buffer and read sizes, its
// errors unchanged and in order, exceptions caught on the worker, and a consumer that goes away
// early stops the worker at once (no hang, and nothing of the upstream outlives the Source).
#include <strata/contentio/read_ahead.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
using strata::Code;
using strata::Error;
using strata::Result;
using strata::contentio::read_ahead;
using strata::contentio::ReadAheadOptions;
using strata::contentio::Source;

std::string pattern(std::size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(rng());
  return s;
}

// Yields `data` in pieces of 1..max_piece bytes (random), then `end` (0, or an error).
Source pieces(std::string data, std::size_t max_piece, unsigned seed,
              std::optional<Error> end = std::nullopt) {
  struct State {
    std::string data;
    std::size_t off = 0;
    std::mt19937 rng;
    std::optional<Error> end;
  };
  auto st = std::make_shared<State>(State{std::move(data), 0, std::mt19937(seed), std::move(end)});
  return [st, max_piece](std::span<std::byte> buf) -> Result<std::size_t> {
    if (st->off == st->data.size()) {
      if (st->end)
        return *st->end;
      return std::size_t{0};
    }
    std::size_t n = 1 + st->rng() % max_piece;
    n = std::min({n, buf.size(), st->data.size() - st->off});
    std::memcpy(buf.data(), st->data.data() + st->off, n);
    st->off += n;
    return n;
  };
}

struct Drained {
  std::string bytes;
  std::optional<Error> error;
};

Drained drain(Source& src, std::size_t max_read, unsigned seed) {
  std::mt19937 rng(seed);
  Drained d;
  std::vector<std::byte> buf(max_read);
  for (;;) {
    const std::size_t want = 1 + rng() % max_read;
    auto n = src(std::span(buf).first(want));
    if (!n) {
      d.error = n.error();
      return d;
    }
    if (*n == 0)
      return d;
    EXPECT_LE(*n, want);
    d.bytes.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
}

TEST(ReadAhead, SameBytesAtAnyBufferAndReadSize) {
  const std::string data = pattern(3 << 20, 1);
  const ReadAheadOptions shapes[] = {{},
                                     {.buffers = 1, .buffer_size = 1},
                                     {.buffers = 3, .buffer_size = 7},
                                     {.buffers = 2, .buffer_size = 100000},
                                     {.buffers = 0, .buffer_size = 0}};
  unsigned seed = 0;
  for (const auto& shape : shapes) {
    for (std::size_t piece : {std::size_t{1}, std::size_t{4096}, std::size_t{300000}}) {
      for (std::size_t read : {std::size_t{1}, std::size_t{8191}, std::size_t{1 << 20}}) {
        // One-byte pieces and reads through one-byte buffers take long: a smaller stream there.
        const bool tiny = piece == 1 || read == 1 || shape.buffer_size < 10;
        const std::string in = tiny ? data.substr(0, 10000) : data;
        SCOPED_TRACE("buffers " + std::to_string(shape.buffers) + " x " +
                     std::to_string(shape.buffer_size) + ", pieces " + std::to_string(piece) +
                     ", reads " + std::to_string(read));
        auto src = read_ahead(pieces(in, piece, ++seed), shape);
        auto out = drain(src, read, ++seed);
        ASSERT_FALSE(out.error) << out.error->to_string();
        ASSERT_TRUE(out.bytes == in);
        // The end is sticky.
        std::byte b[16];
        auto again = src(b);
        ASSERT_TRUE(again);
        EXPECT_EQ(*again, 0u);
      }
    }
  }
}

TEST(ReadAhead, EmptyStreamAndEmptyReads) {
  auto src = read_ahead(pieces("", 10, 1));
  EXPECT_EQ(*src(std::span<std::byte>()), 0u);
  std::byte b[4];
  EXPECT_EQ(*src(b), 0u);
  EXPECT_EQ(*src(b), 0u);
}

TEST(ReadAhead, UpstreamErrorArrivesAfterTheBytesBeforeIt) {
  const std::string data = pattern(5 << 20, 2);
  for (std::size_t buffer_size : {std::size_t{1000}, std::size_t{1 << 20}}) {
    auto src = read_ahead(pieces(data, 70000, 3, Error(Code::DataLoss, "blob digest mismatch")),
                          {.buffers = 4, .buffer_size = buffer_size});
    auto out = drain(src, 65536, 4);
    ASSERT_TRUE(out.error);
    EXPECT_EQ(out.error->to_string(), "DataLoss: blob digest mismatch");
    EXPECT_TRUE(out.bytes == data);
    // Sticky, and the same value.
    std::byte b[8];
    auto again = src(b);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().to_string(), "DataLoss: blob digest mismatch");
  }
}

TEST(ReadAhead, UpstreamIsNotCalledAgainAfterItsEndOrError) {
  for (bool fail : {false, true}) {
    auto calls = std::make_shared<std::atomic<int>>(0);
    auto ended = std::make_shared<std::atomic<bool>>(false);
    Source up = [calls, ended, fail](std::span<std::byte> buf) -> Result<std::size_t> {
      EXPECT_FALSE(ended->load()) << "called after it ended";
      if (++*calls > 3) {
        ended->store(true);
        if (fail)
          return Error(Code::Internal, "boom");
        return std::size_t{0};
      }
      buf[0] = std::byte{'x'};
      return std::size_t{1};
    };
    auto src = read_ahead(up);
    auto out = drain(src, 100, 5);
    EXPECT_EQ(out.bytes, "xxx");
    EXPECT_EQ(out.error.has_value(), fail);
    for (int i = 0; i < 3; ++i) {
      std::byte b[4];
      auto n = src(b);
      EXPECT_EQ(n.ok(), !fail);
    }
    EXPECT_EQ(calls->load(), 4);
  }
}

TEST(ReadAhead, ExceptionOnTheWorkerBecomesInternal) {
  int calls = 0;
  Source up = [&calls](std::span<std::byte> buf) -> Result<std::size_t> {
    if (++calls == 3)
      throw std::runtime_error("decoder exploded");
    std::memset(buf.data(), 'y', 10);
    return std::size_t{10};
  };
  auto src = read_ahead(up);
  auto out = drain(src, 4096, 6);
  EXPECT_EQ(out.bytes, std::string(20, 'y'));
  ASSERT_TRUE(out.error);
  EXPECT_EQ(out.error->code(), Code::Internal);
  EXPECT_NE(out.error->message().find("decoder exploded"), std::string::npos);
}

TEST(ReadAhead, OversizedCountIsDataLoss) {
  Source liar = [](std::span<std::byte> buf) -> Result<std::size_t> { return buf.size() + 1; };
  auto src = read_ahead(liar);
  std::byte b[64];
  auto n = src(b);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().code(), Code::DataLoss);
}

TEST(ReadAhead, NeverReadNeverRunsUpstream) {
  std::atomic<int> calls = 0;
  {
    auto src = read_ahead([&calls](std::span<std::byte>) -> Result<std::size_t> {
      ++calls;
      return std::size_t{0};
    });
  }
  EXPECT_EQ(calls.load(), 0);
}

TEST(ReadAhead, UpstreamRunsOnAnotherThreadAndIsDestroyedThere) {
  struct Sentinel {
    std::thread::id* destroyed_on;
    ~Sentinel() { *destroyed_on = std::this_thread::get_id(); }
  };
  std::thread::id ran_on, destroyed_on;
  {
    auto sentinel = std::make_shared<Sentinel>(Sentinel{&destroyed_on});
    auto src = read_ahead([&ran_on, sentinel](std::span<std::byte>) -> Result<std::size_t> {
      ran_on = std::this_thread::get_id();
      return std::size_t{0};
    });
    sentinel.reset();
    std::byte b[4];
    EXPECT_EQ(*src(b), 0u);
  }
  EXPECT_NE(ran_on, std::thread::id());
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_EQ(destroyed_on, ran_on);
}

// Runs `f` on a thread and fails (instead of hanging the suite) if it takes longer than
// `limit`. The meson timeout is the backstop if it never returns.
template <class F> void within(std::chrono::milliseconds limit, F f) {
  const auto t0 = std::chrono::steady_clock::now();
  auto done = std::async(std::launch::async, std::move(f));
  ASSERT_EQ(done.wait_for(limit), std::future_status::ready) << "did not return in time";
  done.get();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, limit);
}

TEST(ReadAhead, DestroyedWhileTheWorkerWaitsForAFreeBufferStopsIt) {
  // An endless upstream fills every buffer, then the worker waits for the consumer, who leaves.
  auto calls = std::make_shared<std::atomic<long>>(0);
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  Source endless = [calls, alive](std::span<std::byte> buf) -> Result<std::size_t> {
    ++*calls;
    std::memset(buf.data(), 'z', buf.size());
    return buf.size();
  };
  alive.reset();
  within(10s, [&] {
    auto src = read_ahead(std::move(endless), {.buffers = 2, .buffer_size = 4096});
    std::byte b[100];
    ASSERT_TRUE(src(b));
    // Let the worker fill both buffers and block.
    for (int i = 0; i < 200 && calls->load() < 2; ++i)
      std::this_thread::sleep_for(5ms);
    std::this_thread::sleep_for(20ms);
  });
  const long after = calls->load();
  EXPECT_GE(after, 2);
  EXPECT_TRUE(watch.expired()) << "the upstream outlived the Source";
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(calls->load(), after) << "the upstream ran after the Source was destroyed";
}

TEST(ReadAhead, DestroyedDuringASlowUpstreamCallWaitsForThatCallOnly) {
  // The upstream borrows `borrowed`, which dies right after the Source: it must not be touched
  // once the Source's destructor returned.
  struct Borrowed {
    std::atomic<bool> gone{false};
    std::atomic<int> calls{0};
  };
  auto borrowed = std::make_unique<Borrowed>();
  Borrowed* b = borrowed.get();
  std::mutex m;
  std::condition_variable cv;
  within(10s, [&] {
    Source slow = [b, &m, &cv](std::span<std::byte> buf) -> Result<std::size_t> {
      EXPECT_FALSE(b->gone.load()) << "upstream called after the Source died";
      {
        std::lock_guard lock(m);
        ++b->calls;
      }
      cv.notify_all();
      std::this_thread::sleep_for(200ms);
      buf[0] = std::byte{1};
      return std::size_t{1};
    };
    auto src = read_ahead(std::move(slow), {.buffers = 2, .buffer_size = 1 << 20});
    std::byte one[1];
    ASSERT_TRUE(src(one)); // the first piece arrives: the consumer was waiting
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return b->calls.load() >= 2; }); // the worker is inside the next call
  });
  b->gone.store(true);
  const int calls = b->calls.load();
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(b->calls.load(), calls);
  borrowed.reset();
}

TEST(ReadAhead, DestroyedWithFilledBuffersUnreadIsFine) {
  const std::string data = pattern(1 << 20, 7);
  within(10s, [&] {
    auto src = read_ahead(pieces(data, 50000, 8), {.buffers = 4, .buffer_size = 65536});
    std::byte b[10];
    ASSERT_TRUE(src(b));
    std::this_thread::sleep_for(50ms);
  });
}

TEST(ReadAhead, CopiesShareOneStreamAndTheLastStopsIt) {
  const std::string data = pattern(200000, 9);
  auto src = read_ahead(pieces(data, 1000, 10), {.buffers = 2, .buffer_size = 4096});
  std::string got;
  std::vector<std::byte> buf(3000);
  {
    Source copy = src;
    auto n = copy(buf);
    ASSERT_TRUE(n);
    got.append(reinterpret_cast<const char*>(buf.data()), *n);
  }
  auto rest = drain(src, 5000, 11);
  ASSERT_FALSE(rest.error);
  EXPECT_TRUE(got + rest.bytes == data);
}

TEST(ReadAhead, ManyShortLivedSourcesLeaveNoThreads) {
  // Under ASan (build-asan) this also checks for leaks and use after free across the handoff.
  for (int i = 0; i < 200; ++i) {
    auto src = read_ahead(pieces(pattern(10000, i), 997, i), {.buffers = 2, .buffer_size = 512});
    std::byte b[300];
    for (int j = 0; j < i % 7; ++j)
      ASSERT_TRUE(src(b));
  }
}

} // namespace
