// The API server over a real unix socket: statuses, limits, robustness, socket file handling.

#include "raw_client.hpp"
#include "test_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace strata::test {
namespace {

using host::api::Server;
using host::api::ServerOptions;

class ServerTest : public ::testing::Test {
protected:
  void SetUp() override {
    socket_path_ = (dir_.path() / "run" / "strata.sock").string();
    start();
  }

  void start(std::chrono::seconds idle = std::chrono::seconds(30)) {
    ServerOptions options;
    options.socket_path = socket_path_;
    options.max_body_bytes = 1024;
    options.idle_timeout = idle;
    server_ = std::make_unique<Server>(threads_.io(), router_, options);
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }

  TempDir dir_;
  host::api::Router router_ = test_router();
  IoThreads threads_;
  std::string socket_path_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, AnswersJson) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::get, "/v1/hello");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_type], "application/json");
  EXPECT_EQ(RawClient::json(res), (boost::json::value{{"hello", "world"}}));

  res = client.request(http::verb::get, "/v1/health");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(RawClient::json(res), (boost::json::value{{"status", "ok"}}));
}

TEST_F(ServerTest, DecodesPathParameters) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::get, "/v1/items/a%2Fb%20c");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(RawClient::json(res).at("name"), "a/b c");
}

TEST_F(ServerTest, UnknownRouteIsNotFound) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::get, "/v1/nope");
  EXPECT_EQ(res.result_int(), 404);
  auto body = RawClient::json(res);
  EXPECT_EQ(body.at("code"), "NotFound");
  std::string message(body.at("message").as_string());
  EXPECT_NE(message.find("no route for GET /v1/nope"), std::string::npos) << message;
  EXPECT_NE(message.find("GET /v1/hello"), std::string::npos) << message;
}

TEST_F(ServerTest, WrongMethodIs405WithAllow) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::delete_, "/v1/hello");
  EXPECT_EQ(res.result_int(), 405);
  EXPECT_EQ(res[http::field::allow], "GET");
  EXPECT_EQ(RawClient::json(res).at("code"), "InvalidArgument");
}

TEST_F(ServerTest, EchoesJsonBody) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::post, "/v1/echo", R"({"a":[1,2,3]})");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(RawClient::json(res), boost::json::parse(R"({"a":[1,2,3]})"));
}

TEST_F(ServerTest, MalformedJsonIs400) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::post, "/v1/echo", "{bad");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(RawClient::json(res).at("code"), "InvalidArgument");
  // The connection stays usable after an application-level error.
  res = client.request(http::verb::post, "/v1/echo");
  EXPECT_EQ(res.result_int(), 400);
  std::string message(RawClient::json(res).at("message").as_string());
  EXPECT_NE(message.find("empty"), std::string::npos) << message;
}

TEST_F(ServerTest, BodyOverLimitIs413) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::post, "/v1/echo", std::string(4096, 'x'));
  EXPECT_EQ(res.result_int(), 413);
  auto body = RawClient::json(res);
  EXPECT_EQ(body.at("code"), "ResourceExhausted");
  std::string message(body.at("message").as_string());
  EXPECT_NE(message.find("4096 bytes exceeds the limit of 1024 bytes"), std::string::npos)
      << message;
  EXPECT_FALSE(res.keep_alive());
}

TEST_F(ServerTest, BodyAtTheLimitIsAccepted) {
  RawClient client(socket_path_);
  std::string body = "\"" + std::string(1022, 'x') + "\"";
  ASSERT_EQ(body.size(), 1024u);
  auto res = client.request(http::verb::post, "/v1/echo", body);
  EXPECT_EQ(res.result_int(), 200);
  res = client.request(http::verb::post, "/v1/echo", body, true);
  EXPECT_EQ(res.result_int(), 200);
}

TEST_F(ServerTest, ChunkedBodyOverLimitIs413) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::post, "/v1/echo", std::string(4096, 'x'), true);
  EXPECT_EQ(res.result_int(), 413);
}

TEST_F(ServerTest, LargeBodyWithoutReadingResponseFirstGets413NotBrokenPipe) {
  // Far more than the socket buffers hold: the client is still writing when the server
  // refuses, and must still get to read the refusal.
  RawClient client(socket_path_);
  auto res = client.request(http::verb::post, "/v1/echo", std::string(8 << 20, 'x'));
  EXPECT_EQ(res.result_int(), 413);
}

TEST_F(ServerTest, ExpectContinueIsHonoured) {
  RawClient client(socket_path_);
  client.send_raw("POST /v1/echo HTTP/1.1\r\nHost: strata\r\nContent-Length: 7\r\n"
                  "Expect: 100-continue\r\n\r\n");
  auto interim = client.read();
  EXPECT_EQ(interim.result_int(), 100);
  client.send_raw("{\"a\":1}");
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(RawClient::json(res), (boost::json::value{{"a", 1}}));
}

TEST_F(ServerTest, ThrowingHandlerIs500AndServingGoesOn) {
  RawClient client(socket_path_);
  auto res = client.request(http::verb::get, "/v1/throw");
  EXPECT_EQ(res.result_int(), 500);
  auto body = RawClient::json(res);
  EXPECT_EQ(body.at("code"), "Internal");
  std::string message(body.at("message").as_string());
  EXPECT_NE(message.find("boom"), std::string::npos) << message;
  res = client.request(http::verb::get, "/v1/hello");
  EXPECT_EQ(res.result_int(), 200);
}

TEST_F(ServerTest, ManyConcurrentClientsAreAllAnswered) {
  constexpr int clients = 50;
  constexpr int requests = 20;
  std::atomic<int> answered{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      try {
        RawClient client(socket_path_);
        for (int r = 0; r < requests; ++r) {
          auto body = boost::json::serialize(boost::json::value{{"c", c}, {"r", r}});
          auto res = client.request(http::verb::post, "/v1/echo", body);
          if (res.result_int() == 200 && res.body() == body + "\n")
            ++answered;
          else
            ++failures;
        }
      } catch (const std::exception&) {
        ++failures;
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(answered.load(), clients * requests);
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(ServerTest, GarbageIsRefusedAndServingGoesOn) {
  {
    RawClient client(socket_path_);
    // The start of a TLS ClientHello, as a client configured for https would send.
    static constexpr char hello[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n";
    client.send_raw(std::string(hello, sizeof(hello) - 1));
    try {
      auto res = client.read();
      EXPECT_EQ(res.result_int(), 400);
      EXPECT_EQ(RawClient::json(res).at("code"), "InvalidArgument");
    } catch (const boost::system::system_error&) {
      // A closed connection is an acceptable answer to garbage too.
    }
  }
  {
    RawClient client(socket_path_);
    client.send_raw("GET /v1/hello HTTP/1.1\r\nHost: strata\r\nContent-Length: nope\r\n\r\n");
    auto res = client.read();
    EXPECT_EQ(res.result_int(), 400);
  }
  RawClient client(socket_path_);
  EXPECT_EQ(client.request(http::verb::get, "/v1/hello").result_int(), 200);
}

// Transfer-Encoding other than "chunked" alone used to get the connection closed with no answer:
// other codings are 501 with a JSON error naming the header, malformed framing 400.
TEST_F(ServerTest, TransferEncodingOtherThanChunkedIsAnswered) {
  const std::string chunked_body = "7\r\n{\"a\":1}\r\n0\r\n\r\n";
  struct Case {
    std::string headers;
    unsigned status;
    const char* code;
  };
  for (const Case& c : std::vector<Case>{
           {"Transfer-Encoding: gzip, chunked\r\n", 501, "NotImplemented"},
           {"Transfer-Encoding: gzip\r\n", 501, "NotImplemented"},
           {"Transfer-Encoding: chunked, chunked\r\n", 501, "NotImplemented"},
           {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 400, "InvalidArgument"},
           {"Transfer-Encoding: ,chunked\r\n", 400, "InvalidArgument"},
           {"Transfer-Encoding: chunked\r\nContent-Length: 7\r\n", 400, "InvalidArgument"},
       }) {
    RawClient client(socket_path_);
    client.send_raw("POST /v1/echo HTTP/1.1\r\nHost: strata\r\n" + c.headers + "\r\n" +
                    chunked_body);
    RawClient::Response res;
    try {
      res = client.read();
    } catch (const boost::system::system_error& e) {
      ADD_FAILURE() << c.headers << ": no answer: " << e.what();
      continue;
    }
    EXPECT_EQ(res.result_int(), c.status) << c.headers << res.body();
    if (res.result_int() == c.status) {
      EXPECT_EQ(RawClient::json(res).at("code"), c.code) << c.headers;
      // Beast itself refuses Transfer-Encoding with Content-Length ("bad Content-Length").
      if (c.headers.find("Content-Length") == std::string::npos) {
        EXPECT_NE(res.body().find("Transfer-Encoding"), std::string::npos) << res.body();
      }
    }
  }
  RawClient client(socket_path_);
  EXPECT_EQ(client.request(http::verb::post, "/v1/echo", R"({"a":1})", true).result_int(), 200);
}

TEST_F(ServerTest, OversizedHeaderIs400) {
  RawClient client(socket_path_);
  client.send_raw("GET /v1/hello HTTP/1.1\r\nHost: strata\r\nX-Big: " +
                  std::string(64 * 1024, 'a') + "\r\n\r\n");
  auto res = client.read();
  EXPECT_EQ(res.result_int(), 400);
}

TEST_F(ServerTest, IdleConnectionIsClosed) {
  server_.reset();
  start(std::chrono::seconds(1));
  RawClient client(socket_path_);
  auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(10));
}

TEST_F(ServerTest, SocketModeIs0660) {
  struct stat st {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
}

TEST_F(ServerTest, CreatesParentDirectory0711) {
  struct stat st {};
  ASSERT_EQ(::stat((dir_.path() / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0711u);
}

TEST_F(ServerTest, LiveSocketIsNotStolen) {
  ServerOptions options;
  options.socket_path = socket_path_;
  options.max_body_bytes = 1024;
  Server second(threads_.io(), router_, options);
  auto st = second.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::Unavailable);
  EXPECT_NE(st.error().message().find("another stratad is serving " + socket_path_),
            std::string::npos)
      << st.error().message();
  // The failed start must not have disturbed the first server.
  RawClient client(socket_path_);
  EXPECT_EQ(client.request(http::verb::get, "/v1/hello").result_int(), 200);
}

TEST_F(ServerTest, StopRemovesSocketAndIsIdempotent) {
  RawClient idle(socket_path_);
  server_->stop();
  EXPECT_FALSE(std::filesystem::exists(socket_path_));
  // An idle keep-alive connection is ended by stop().
  EXPECT_TRUE(idle.closed_by_server());
  server_->stop();
  server_.reset();
}

TEST(ServerSocketFile, StaleSocketIsReplaced) {
  TempDir dir;
  auto path = (dir.path() / "strata.sock").string();
  // A socket file nobody listens on, as a crashed stratad leaves behind.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  ASSERT_TRUE(std::filesystem::is_socket(path));

  IoThreads threads(2);
  auto router = test_router();
  Server server(threads.io(), router, ServerOptions{path, 1024});
  auto st = server.start();
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  RawClient client(path);
  EXPECT_EQ(client.request(http::verb::get, "/v1/hello").result_int(), 200);
}

TEST(ServerSocketFile, NonSocketIsRefused) {
  TempDir dir;
  auto path = (dir.path() / "strata.sock").string();
  std::ofstream(path) << "not a socket";
  IoThreads threads(1);
  auto router = test_router();
  Server server(threads.io(), router, ServerOptions{path, 1024});
  auto st = server.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::FailedPrecondition);
  EXPECT_NE(st.error().message().find(path), std::string::npos) << st.error().message();
  EXPECT_TRUE(std::filesystem::is_regular_file(path)); // left alone
}

TEST(ServerSocketFile, TooLongPathIsInvalidArgument) {
  IoThreads threads(1);
  auto router = test_router();
  Server server(threads.io(), router, ServerOptions{"/tmp/" + std::string(200, 'x'), 1024});
  auto st = server.start();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::InvalidArgument);
}

} // namespace
} // namespace strata::test
