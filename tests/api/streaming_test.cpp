// Streaming routes over a real unix socket: request bodies pulled as they arrive (any size,
// chunked or not), response bodies produced while sent, clients that stall or leave, and the
// server staying responsive to everyone else meanwhile.

#include "raw_client.hpp"
#include "test_server.hpp"

#include <strata/digest/sha256.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace strata::test {
namespace {

using namespace host::api;
using namespace std::chrono_literals;

// Byte `i` of the test pattern; downloads are checked against it without holding a copy.
char pattern_byte(std::uint64_t i) {
  return static_cast<char>((i * 131 + (i >> 16)) % 251);
}

std::string pattern(std::uint64_t n) {
  std::string s(n, '\0');
  for (std::uint64_t i = 0; i < n; ++i)
    s[i] = pattern_byte(i);
  return s;
}

std::string str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : boost::json::serialize(v);
}

// What the streaming handlers saw, for the tests to check.
struct Probe {
  std::atomic<int> reading{0};  // upload handlers that have read their first bytes
  std::atomic<int> finished{0}; // upload handlers that returned
  std::mutex mutex;
  std::optional<Error> last_error; // the last body read error an upload handler saw

  void failed(const Error& e) {
    std::lock_guard lock(mutex);
    last_error = e;
  }
  std::optional<Code> last_code() {
    std::lock_guard lock(mutex);
    return last_error ? std::optional<Code>(last_error->code()) : std::nullopt;
  }
};

Router streaming_router(Probe& probe) {
  Router r = test_router();
  // Reads the whole body in odd-sized pieces and answers its size and digest.
  r.add(
      http::verb::post, "/v1/sink",
      [&probe](const Request& req) {
        digest::Sha256 hash;
        std::uint64_t total = 0;
        std::vector<std::byte> buf(64 * 1024 + 7);
        bool first = true;
        for (;;) {
          auto n = req.body_source(std::span(buf));
          if (!n) {
            probe.failed(n.error());
            ++probe.finished;
            return Response::error(n.error());
          }
          if (first) {
            ++probe.reading;
            first = false;
          }
          if (*n == 0)
            break;
          hash.update(std::span<const std::byte>(buf.data(), *n));
          total += *n;
        }
        ++probe.finished;
        return Response::json(json::object{{"bytes", total}, {"digest", hash.finish()}});
      },
      streaming::upload);
  // Refuses without reading the body.
  r.add(
      http::verb::post, "/v1/refuse",
      [](const Request&) { return Response::error(invalid_argument("refused unread")); },
      streaming::upload);
  // ?size=N bytes of the pattern; with Content-Length unless ?chunked.
  r.add(
      http::verb::get, "/v1/pattern",
      [](const Request& req) {
        std::uint64_t size = std::stoull(std::string(req.query_param("size").value_or("0")));
        auto at = std::make_shared<std::uint64_t>(0);
        contentio::Source source = [at, size](std::span<std::byte> buf) -> Result<std::size_t> {
          std::size_t n = std::min<std::uint64_t>(buf.size(), size - *at);
          for (std::size_t i = 0; i < n; ++i)
            buf[i] = static_cast<std::byte>(pattern_byte(*at + i));
          *at += n;
          return n;
        };
        std::optional<std::uint64_t> length;
        if (!req.query_param("chunked"))
          length = size;
        return Response::streamed(std::move(source), length);
      },
      streaming::download);
  // Announces 4 MiB, delivers 1 MiB, then fails.
  r.add(
      http::verb::get, "/v1/broken",
      [](const Request& req) {
        auto at = std::make_shared<std::uint64_t>(0);
        contentio::Source source = [at](std::span<std::byte> buf) -> Result<std::size_t> {
          if (*at >= (1u << 20))
            return Error(Code::DataLoss, "the disk went away");
          std::size_t n = std::min<std::uint64_t>(buf.size(), (1u << 20) - *at);
          std::fill_n(buf.begin(), n, std::byte{'x'});
          *at += n;
          return n;
        };
        std::optional<std::uint64_t> length;
        if (!req.query_param("chunked"))
          length = 4u << 20;
        return Response::streamed(std::move(source), length);
      },
      streaming::download);
  // Fails before its first byte: a plain error response is still possible.
  r.add(
      http::verb::get, "/v1/missing",
      [](const Request&) {
        return Response::streamed(
            [](std::span<std::byte>) -> Result<std::size_t> { return not_found("no such blob"); },
            10);
      },
      streaming::download);
  // A buffered route that wrongly returns a stream.
  r.add(http::verb::get, "/v1/undeclared", [](const Request&) {
    return Response::streamed([](std::span<std::byte>) -> Result<std::size_t> { return 0; }, 0);
  });
  return r;
}

class StreamingTest : public ::testing::Test {
protected:
  void SetUp() override { socket_path_ = (dir_.path() / "strata.sock").string(); }

  // A server with a body limit far below the sizes streamed, so streaming provably bypasses it.
  void start(unsigned io_threads = 2, std::size_t max_streams = 64) {
    ServerOptions options;
    options.max_streams = max_streams;
    start_with(options, io_threads);
  }

  void start_with(ServerOptions options, unsigned io_threads = 2) {
    threads_ = std::make_unique<IoThreads>(io_threads);
    options.socket_path = socket_path_;
    options.max_body_bytes = 1024;
    server_ = std::make_unique<Server>(threads_->io(), router_, options);
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }

  void TearDown() override {
    server_.reset();
    threads_.reset();
  }

  static std::string upload_header(const std::string& target, std::optional<std::size_t> length,
                                   const std::string& extra = {}) {
    std::string h = "POST " + target + " HTTP/1.1\r\nHost: strata\r\n" + extra;
    h += length ? "Content-Length: " + std::to_string(*length) + "\r\n"
                : std::string("Transfer-Encoding: chunked\r\n");
    return h + "\r\n";
  }

  TempDir dir_;
  Probe probe_;
  Router router_ = streaming_router(probe_);
  std::string socket_path_;
  std::unique_ptr<IoThreads> threads_;
  std::unique_ptr<Server> server_;
};

TEST_F(StreamingTest, UploadFarOverTheBodyLimitStreams) {
  start();
  const std::string body = pattern(12 << 20);
  RawClient client(socket_path_);
  auto res = client.request(http::verb::post, "/v1/sink", body);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  auto j = RawClient::json(res);
  EXPECT_EQ(j.at("bytes").to_number<std::uint64_t>(), body.size());
  EXPECT_EQ(str(j.at("digest")), digest::sha256_of(body));
  // The limit still holds for buffered routes.
  EXPECT_EQ(RawClient(socket_path_)
                .request(http::verb::post, "/v1/echo", std::string(4096, 'x'))
                .result_int(),
            413);
}

TEST_F(StreamingTest, ChunkedUploadInManySmallChunks) {
  start();
  RawClient client(socket_path_);
  client.send_raw(upload_header("/v1/sink", std::nullopt));
  std::string all;
  for (std::size_t i = 0; i < 3000; ++i) {
    std::string piece(1 + (i * 977) % 4000, static_cast<char>('a' + i % 26));
    all += piece;
    char size[32];
    std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
    client.send_raw(size + piece + "\r\n");
  }
  client.send_raw("0\r\n\r\n");
  auto res = client.read();
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_GT(all.size(), std::size_t(4) << 20);
  EXPECT_EQ(str(RawClient::json(res).at("digest")), digest::sha256_of(all));
  EXPECT_EQ(RawClient::json(res).at("bytes").to_number<std::uint64_t>(), all.size());
}

TEST_F(StreamingTest, EmptyUploadAndKeepAlive) {
  start();
  RawClient client(socket_path_);
  auto res = client.request(http::verb::post, "/v1/sink");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(RawClient::json(res).at("bytes"), 0);
  EXPECT_TRUE(res.keep_alive());
  // Same connection: a second upload (chunked this time), then a buffered route.
  res = client.request(http::verb::post, "/v1/sink", "hello", true);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(str(RawClient::json(res).at("digest")), digest::sha256_of("hello"));
  EXPECT_EQ(client.request(http::verb::get, "/v1/hello").result_int(), 200);
}

TEST_F(StreamingTest, UploadRefusedUnreadIsAnsweredAndTheConnectionCloses) {
  start();
  RawClient client(socket_path_);
  // More than the socket buffers hold: the refusal comes while the client still writes.
  auto res = client.request(http::verb::post, "/v1/refuse", std::string(8 << 20, 'x'));
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(RawClient::json(res).at("message"), "refused unread");
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(StreamingTest, ContinueIsSentOnlyWhenTheHandlerReads) {
  start();
  {
    RawClient client(socket_path_);
    client.send_raw(upload_header("/v1/sink", 5, "Expect: 100-continue\r\n"));
    EXPECT_EQ(client.read().result_int(), 100);
    client.send_raw("hello");
    auto res = client.read();
    ASSERT_EQ(res.result_int(), 200);
    EXPECT_EQ(RawClient::json(res).at("bytes"), 5);
  }
  RawClient client(socket_path_);
  client.send_raw(upload_header("/v1/refuse", 5, "Expect: 100-continue\r\n"));
  EXPECT_EQ(client.read().result_int(), 400); // final answer, no 100 first
}

TEST_F(StreamingTest, MalformedChunkIsInvalidArgument) {
  start();
  RawClient client(socket_path_);
  client.send_raw(upload_header("/v1/sink", std::nullopt) + "5\r\nhello\r\nzz\r\n");
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(probe_.last_code(), Code::InvalidArgument);
}

TEST_F(StreamingTest, DownloadFarOverTheBodyLimitWithContentLength) {
  start();
  RawClient client(socket_path_);
  const std::uint64_t size = (12 << 20) + 3;
  client.send_raw("GET /v1/pattern?size=" + std::to_string(size) +
                  " HTTP/1.1\r\nHost: strata\r\n\r\n");
  auto res = client.read_large();
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_length], std::to_string(size));
  EXPECT_EQ(res[http::field::content_type], "application/octet-stream");
  ASSERT_EQ(res.body().size(), size);
  EXPECT_TRUE(res.body() == pattern(size));
  // The connection goes on.
  EXPECT_EQ(client.request(http::verb::get, "/v1/hello").result_int(), 200);
}

TEST_F(StreamingTest, DownloadChunked) {
  start();
  RawClient client(socket_path_);
  const std::uint64_t size = (5 << 20) + 11;
  client.send_raw("GET /v1/pattern?chunked&size=" + std::to_string(size) +
                  " HTTP/1.1\r\nHost: strata\r\n\r\n");
  auto res = client.read_large();
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_TRUE(res.chunked());
  ASSERT_EQ(res.body().size(), size);
  EXPECT_TRUE(res.body() == pattern(size));
  client.send_raw("GET /v1/pattern?chunked&size=0 HTTP/1.1\r\nHost: strata\r\n\r\n");
  res = client.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_TRUE(res.body().empty());
}

TEST_F(StreamingTest, FailingSourceCutsTheBodyShort) {
  start();
  for (const char* target : {"/v1/broken", "/v1/broken?chunked"}) {
    RawClient client(socket_path_);
    client.send_raw(std::string("GET ") + target + " HTTP/1.1\r\nHost: strata\r\n\r\n");
    // A client must never take the truncated body for a whole one.
    EXPECT_THROW(client.read_large(), boost::system::system_error) << target;
  }
  EXPECT_EQ(RawClient(socket_path_).request(http::verb::get, "/v1/hello").result_int(), 200);
}

TEST_F(StreamingTest, SourceFailingAtOnceGivesAnErrorResponse) {
  start();
  RawClient client(socket_path_);
  auto res = client.request(http::verb::get, "/v1/missing");
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(RawClient::json(res).at("code"), "NotFound");
  EXPECT_EQ(client.request(http::verb::get, "/v1/hello").result_int(), 200);
}

TEST_F(StreamingTest, StreamFromAnUndeclaredRouteIs500) {
  start();
  auto res = RawClient(socket_path_).request(http::verb::get, "/v1/undeclared");
  EXPECT_EQ(res.result_int(), 500);
  std::string message(RawClient::json(res).at("message").as_string());
  EXPECT_NE(message.find("Streaming::download"), std::string::npos) << message;
}

TEST_F(StreamingTest, SlowUploadsDoNotBlockOtherClients) {
  // One I/O thread: a handler blocked on its slow client would stall everyone if it ran there.
  start(1);
  constexpr int slow = 3;
  std::vector<std::unique_ptr<RawClient>> uploads;
  const std::string first = pattern(100000), rest = pattern(50000);
  for (int i = 0; i < slow; ++i) {
    uploads.push_back(std::make_unique<RawClient>(socket_path_));
    uploads.back()->send_raw(upload_header("/v1/sink", first.size() + rest.size()) + first);
  }
  ASSERT_TRUE(eventually([&] { return probe_.reading.load() == slow; }));

  std::atomic<int> answered{0};
  std::vector<std::thread> others;
  for (int c = 0; c < 10; ++c)
    others.emplace_back([&, c] {
      try {
        RawClient client(socket_path_);
        for (int r = 0; r < 10; ++r) {
          auto body = boost::json::serialize(boost::json::value{{"c", c}, {"r", r}});
          auto res = client.request(http::verb::post, "/v1/echo", body);
          if (res.result_int() == 200 && res.body() == body + "\n")
            ++answered;
        }
      } catch (const std::exception&) {
      }
    });
  for (auto& t : others)
    t.join();
  EXPECT_EQ(answered.load(), 100);
  EXPECT_EQ(probe_.finished.load(), 0); // the uploads were pending all along

  for (auto& u : uploads) {
    u->send_raw(rest);
    auto res = u->read();
    ASSERT_EQ(res.result_int(), 200) << res.body();
    EXPECT_EQ(str(RawClient::json(res).at("digest")), digest::sha256_of(first + rest));
  }
}

TEST_F(StreamingTest, ClientLeavingMidUploadCancelsTheHandler) {
  start();
  {
    RawClient client(socket_path_);
    client.send_raw(upload_header("/v1/sink", 10 << 20) + pattern(1 << 20));
    ASSERT_TRUE(eventually([&] { return probe_.reading.load() == 1; }));
    client.close();
  }
  ASSERT_TRUE(eventually([&] { return probe_.finished.load() == 1; }));
  EXPECT_EQ(probe_.last_code(), Code::Cancelled);
  EXPECT_EQ(RawClient(socket_path_).request(http::verb::get, "/v1/hello").result_int(), 200);
}

TEST_F(StreamingTest, StopCancelsAnUploadInProgress) {
  start();
  RawClient client(socket_path_);
  client.send_raw(upload_header("/v1/sink", 10 << 20) + pattern(1 << 20));
  ASSERT_TRUE(eventually([&] { return probe_.reading.load() == 1; }));
  server_->stop(); // returns only once the handler is over
  EXPECT_EQ(probe_.finished.load(), 1);
  EXPECT_EQ(probe_.last_code(), Code::Cancelled);
}

TEST_F(StreamingTest, StreamsOverTheLimitAre503) {
  start(2, 1);
  RawClient slow(socket_path_);
  slow.send_raw(upload_header("/v1/sink", 10) + "12345");
  ASSERT_TRUE(eventually([&] { return probe_.reading.load() == 1; }));
  auto res = RawClient(socket_path_).request(http::verb::post, "/v1/sink", "abc");
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_EQ(RawClient::json(res).at("code"), "Unavailable");
  slow.send_raw("67890");
  res = slow.read();
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(str(RawClient::json(res).at("digest")), digest::sha256_of("1234567890"));
}

// A minimum rate the tests can reach quickly: 1,000 bytes in every second spent waiting.
ServerOptions strict_rate() {
  ServerOptions options;
  options.min_transfer_bytes = 1000;
  options.transfer_window = std::chrono::seconds(1);
  return options;
}

TEST_F(StreamingTest, TricklingUploadsAreCutOffAndFreeTheirSlots) {
  ServerOptions options = strict_rate();
  options.max_streams = 2;
  options.max_streams_per_client = 2;
  start_with(options);
  // Clients that send a byte now and then hold every slot...
  std::vector<std::unique_ptr<RawClient>> tricklers;
  for (int i = 0; i < 2; ++i) {
    tricklers.push_back(std::make_unique<RawClient>(socket_path_));
    tricklers.back()->send_raw(upload_header("/v1/sink", 100000) + "x");
  }
  ASSERT_TRUE(eventually([&] { return probe_.reading.load() == 2; }));
  EXPECT_EQ(RawClient(socket_path_).request(http::verb::post, "/v1/sink", "abc").result_int(), 503);
  // ...and keep the idle timeout from ever firing.
  std::atomic<bool> stop{false};
  std::vector<std::thread> trickling;
  for (auto& t : tricklers)
    trickling.emplace_back([&stop, client = t.get()] {
      while (!stop.load()) {
        try {
          client->send_raw("x");
        } catch (const std::exception&) {
          return;
        }
        std::this_thread::sleep_for(200ms);
      }
    });
  // Far less than the 30 s idle timeout.
  bool cut = eventually([&] { return probe_.finished.load() == 2; }, 15s);
  stop = true;
  for (auto& t : trickling)
    t.join();
  ASSERT_TRUE(cut) << "trickling uploads were not cut off";
  EXPECT_EQ(probe_.last_code(), Code::DeadlineExceeded);
  for (auto& t : tricklers) {
    auto res = t->read();
    EXPECT_EQ(res.result_int(), 504);
    std::string message(RawClient::json(res).at("message").as_string());
    EXPECT_NE(message.find("[api] min_transfer_bytes"), std::string::npos) << message;
  }
  // The slots are free again, and a client sending at a normal pace is not cut off.
  const std::string body = pattern(4 << 20);
  auto res = RawClient(socket_path_).request(http::verb::post, "/v1/sink", body);
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(str(RawClient::json(res).at("digest")), digest::sha256_of(body));
}

TEST_F(StreamingTest, ADownloadThatIsNotReadIsCutOff) {
  start_with(strict_rate());
  RawClient client(socket_path_);
  client.send_raw("GET /v1/pattern?size=" + std::to_string(64 << 20) +
                  " HTTP/1.1\r\nHost: strata\r\n\r\n");
  // The socket buffers fill and the server waits on us for more than a window.
  std::this_thread::sleep_for(3s);
  EXPECT_THROW(client.read_large(), boost::system::system_error);
  EXPECT_EQ(RawClient(socket_path_).request(http::verb::get, "/v1/hello").result_int(), 200);
}

// In a child process (another peer pid): one upload, raw syscalls only; exits 0 on a 200.
[[noreturn]] void upload_from_child(const std::string& socket_path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    ::_exit(2);
  const char request[] = "POST /v1/sink HTTP/1.1\r\nHost: strata\r\nContent-Length: 3\r\n\r\nabc";
  if (::write(fd, request, sizeof request - 1) != static_cast<ssize_t>(sizeof request - 1))
    ::_exit(3);
  char buf[64];
  std::size_t got = 0;
  while (got < 12) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n <= 0)
      ::_exit(4);
    got += static_cast<std::size_t>(n);
  }
  ::_exit(std::memcmp(buf, "HTTP/1.1 200", 12) == 0 ? 0 : 5);
}

TEST_F(StreamingTest, OneClientCannotTakeEverySlot) {
  ServerOptions options;
  options.max_streams = 4;
  options.max_streams_per_client = 2;
  start_with(options);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 2; ++i) {
    held.push_back(std::make_unique<RawClient>(socket_path_));
    held.back()->send_raw(upload_header("/v1/sink", 10) + "12345");
  }
  ASSERT_TRUE(eventually([&] { return probe_.reading.load() == 2; }));
  // A third from this process is refused though slots are free...
  auto res = RawClient(socket_path_).request(http::verb::post, "/v1/sink", "abc");
  EXPECT_EQ(res.result_int(), 503);
  std::string message(RawClient::json(res).at("message").as_string());
  EXPECT_NE(message.find("[api] max_streams_per_client"), std::string::npos) << message;
  // ...while another process gets one.
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0)
    upload_from_child(socket_path_);
  int wstatus = 0;
  ASSERT_EQ(::waitpid(child, &wstatus, 0), child);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "child status " << wstatus;
  for (auto& h : held) {
    h->send_raw("67890");
    EXPECT_EQ(h->read().result_int(), 200);
  }
}

TEST(RouterStreaming, FlagsAreLookedUpByMethodAndPath) {
  Probe probe;
  Router r = streaming_router(probe);
  EXPECT_EQ(r.streaming(http::verb::post, "/v1/sink"), streaming::upload);
  EXPECT_EQ(r.streaming(http::verb::get, "/v1/pattern"), streaming::download);
  EXPECT_EQ(r.streaming(http::verb::get, "/v1/hello"), streaming::none);
  EXPECT_EQ(r.streaming(http::verb::get, "/v1/sink"), streaming::none);
  EXPECT_EQ(r.streaming(http::verb::get, "/nope"), streaming::none);
}

TEST(RequestQuery, RepeatedParametersAreAllKept) {
  auto r = make_request(http::verb::get, "/v1/content?filter=a&label=k%3Dv&filter=b", {}, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->query_params("filter"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(r->query_params("label"), (std::vector<std::string_view>{"k=v"}));
  EXPECT_TRUE(r->query_params("none").empty());
  EXPECT_EQ(r->query_param("filter"), "b"); // the map keeps the last value, as before
}

} // namespace
} // namespace strata::test
