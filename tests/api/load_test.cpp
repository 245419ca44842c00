// The server under load: handlers that block do not stall health (they run on the worker pool,
// not on the I/O threads), and connections past the cap get a 503 that names the cap while
// health still answers.

#include "raw_client.hpp"
#include "test_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <future>
#include <mutex>
#include <ranges>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace strata::test {
namespace {

using namespace host::api;
using namespace std::chrono_literals;

// A plain route whose handler blocks until the test opens the gate, as a plugin call that
// removes a large snapshot does.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> waiting{0};

  void pass() {
    ++waiting;
    std::unique_lock lock(mutex);
    cv.wait_for(lock, 30s, [this] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};

class LoadTest : public ::testing::Test {
protected:
  void SetUp() override {
    socket_path_ = (dir_.path() / "strata.sock").string();
    router_.add(http::verb::post, "/v1/block", [this](const Request&) {
      gate_.pass();
      return Response::json(json::object{{"blocked", true}});
    });
  }

  void TearDown() override {
    gate_.release();
    server_.reset();
    threads_.reset();
  }

  // Two I/O threads, as stratad runs.
  void start(const ServerOptions& base = {}) {
    threads_ = std::make_unique<IoThreads>(2);
    ServerOptions options = base;
    options.socket_path = socket_path_;
    server_ = std::make_unique<Server>(threads_->io(), router_, options);
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }

  // GET `target` on a new connection, within `limit`; nullopt when no answer came in time.
  std::optional<unsigned> status_within(const std::string& target,
                                        std::chrono::milliseconds limit) {
    auto answer = std::async(std::launch::async, [this, target] {
      return RawClient(socket_path_).request(http::verb::get, target).result_int();
    });
    if (answer.wait_for(limit) != std::future_status::ready) {
      // The request still runs; it ends once the gate opens.
      pending_.push_back(std::move(answer));
      return std::nullopt;
    }
    return answer.get();
  }

  TempDir dir_;
  Gate gate_;
  Router router_ = test_router();
  std::string socket_path_;
  std::unique_ptr<IoThreads> threads_;
  std::unique_ptr<Server> server_;
  std::vector<std::future<unsigned>> pending_;
};

TEST_F(LoadTest, BlockingHandlersDoNotStallHealth) {
  ServerOptions options;
  options.workers = 6;
  start(options);
  // More blocked handlers than I/O threads: had they run there, nothing else would be served.
  constexpr int blocked = 4;
  std::vector<std::future<unsigned>> calls;
  for (int i = 0; i < blocked; ++i)
    calls.push_back(std::async(std::launch::async, [this] {
      return RawClient(socket_path_).request(http::verb::post, "/v1/block", "{}").result_int();
    }));
  ASSERT_TRUE(eventually([&] { return gate_.waiting.load() >= 2; }));
  // The issue asks for 100 ms; 1 s leaves room for a loaded CI machine, and a stall is forever.
  EXPECT_EQ(status_within("/v1/health", 1000ms), 200u) << "health stalled behind blocked handlers";
  EXPECT_TRUE(eventually([&] { return gate_.waiting.load() == blocked; }))
      << gate_.waiting.load() << " of " << blocked << " handlers started";
  // A plain route still has workers to spare.
  EXPECT_EQ(status_within("/v1/hello", 5000ms), 200u);
  gate_.release();
  for (auto& c : calls)
    EXPECT_EQ(c.get(), 200u);
}

TEST_F(LoadTest, ConnectionsPastTheCapGet503AndHealthStillAnswers) {
  ServerOptions options;
  options.max_connections = 8;
  options.over_cap_reserve = 4;
  start(options);
  // Idle connections far past the cap, as clients that connect and send nothing.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 40; ++i)
    idle.push_back(std::make_unique<RawClient>(socket_path_));
  // Let the server accept them all before the probes below.
  RawClient(socket_path_).request(http::verb::get, "/v1/health");

  // Health and anything quick is answered past the cap; anything else gets 503 naming the key.
  EXPECT_EQ(status_within("/v1/health", 5000ms), 200u);
  RawClient over(socket_path_);
  auto res = over.request(http::verb::get, "/v1/hello");
  ASSERT_EQ(res.result_int(), 503) << res.body();
  EXPECT_EQ(RawClient::json(res).at("code"), "Unavailable");
  std::string message(RawClient::json(res).at("message").as_string());
  EXPECT_NE(message.find("at most 8 connections"), std::string::npos) << message;
  EXPECT_NE(message.find("[api] max_connections"), std::string::npos) << message;
  EXPECT_TRUE(over.closed_by_server());

  // The first eight are served as ever; every later one was told why it is not.
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(idle[i]->request(http::verb::get, "/v1/hello").result_int(), 200) << i;
  for (std::size_t i = 8; i < idle.size(); ++i) {
    auto r = idle[i]->read();
    EXPECT_EQ(r.result_int(), 503) << i;
    EXPECT_NE(r.body().find("max_connections"), std::string::npos) << i << ": " << r.body();
  }
  // Once the idle ones leave, there is room again.
  idle.clear();
  EXPECT_TRUE(eventually([&] {
    return RawClient(socket_path_).request(http::verb::get, "/v1/hello").result_int() == 200;
  }));
}

// The highest descriptor number this process has open.
int highest_fd() {
  int highest = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd"))
    highest = std::max(highest, std::stoi(e.path().filename().string()));
  return highest;
}

// What the server said to a raw client that asked for health and to close: the whole response
// as far as it came within 5 s.
std::string ask_health(int fd) {
  timeval timeout{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  const char request[] = "GET /v1/health HTTP/1.1\r\nHost: strata\r\nConnection: close\r\n\r\n";
  // The server may have answered and closed already: the send may fail, the answer is there.
  [[maybe_unused]] auto sent = ::send(fd, request, sizeof request - 1, MSG_NOSIGNAL);
  std::string got;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0)
      return got;
    got.append(buf, static_cast<std::size_t>(n));
  }
}

TEST_F(LoadTest, OutOfDescriptorsQueuedClientsGet503) {
  ServerOptions options;
  options.max_connections = 100000; // no cap to save us: the descriptor limit comes first
  start(options);
  ASSERT_EQ(RawClient(socket_path_).request(http::verb::get, "/v1/health").result_int(), 200u);
  // Client sockets made while descriptors are plenty, connected once they are short.
  constexpr int clients = 60;
  std::vector<int> fds;
  for (int i = 0; i < clients; ++i) {
    fds.push_back(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_GE(fds.back(), 0);
  }
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  struct Restore {
    rlimit limit;
    ~Restore() { ::setrlimit(RLIMIT_NOFILE, &limit); }
  } restore{saved};
  // Free numbers below the highest open one would serve the server too: they are filled, so
  // that exactly 20 are left.
  const int highest = highest_fd();
  std::vector<int> fillers;
  for (int fd = 0; fd >= 0 && fd < highest;) {
    fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd >= 0)
      fillers.push_back(fd);
  }
  struct Close {
    std::vector<int>& fds;
    ~Close() {
      for (int fd : fds)
        ::close(fd);
    }
  } close_fillers{fillers};
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(highest_fd() + 20);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  for (int fd : fds)
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0)
        << std::strerror(errno);
  // Every client hears back: those the server had descriptors for are served, the others get
  // 503 from the descriptor held in reserve instead of waiting in the queue for nothing. The
  // last ones are asked first, while the first ones still hold their descriptors.
  int served = 0, refused = 0;
  for (int fd : std::views::reverse(fds)) {
    std::string answer = ask_health(fd);
    if (answer.starts_with("HTTP/1.1 200"))
      ++served;
    else if (answer.starts_with("HTTP/1.1 503") &&
             answer.find("out of file descriptors") != std::string::npos)
      ++refused;
    else
      ADD_FAILURE() << "client " << fd << " got: " << answer.substr(0, 200);
    ::close(fd);
  }
  EXPECT_GT(served, 0);
  EXPECT_GT(refused, 0);
  // With descriptors back, the server serves as before.
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_TRUE(eventually([&] {
    return RawClient(socket_path_).request(http::verb::get, "/v1/health").result_int() == 200;
  }));
}

} // namespace
} // namespace strata::test
