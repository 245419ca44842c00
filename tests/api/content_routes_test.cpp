// The content routes (host/routes/content_routes.cpp) over a real unix socket, on the real local
// content store (plugins/content) in a temporary root: ingest, list, download, labels, removal,
// the error statuses, and uploads that fail or are abandoned leaving nothing behind.

#include "client.hpp"
#include "content_format.hpp"
#include "raw_client.hpp"
#include "routes/content_routes.hpp"
#include "store.hpp"
#include "test_server.hpp"

#include <strata/digest/sha256.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <thread>

namespace strata::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string data_of(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>((i * 2654435761u + seed * 97 + (i >> 12)) & 0xff);
  return s;
}

std::string str(const boost::json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : boost::json::serialize(v);
}

std::size_t entries(const fs::path& dir) {
  std::error_code ec;
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator(dir, ec), fs::directory_iterator()));
}

class ContentRoutesTest : public ::testing::Test {
protected:
  void SetUp() override {
    root_ = dir_.path() / "store";
    auto store = content::LocalStore::open(root_.string());
    ASSERT_TRUE(store.ok()) << store.error().to_string();
    store_ = *store;
    host::api::add_health_route(router_);
    host::add_content_routes(router_, [this]() -> Result<std::shared_ptr<ContentStore>> {
      if (!store_)
        return unavailable("no content store is available: test");
      return std::shared_ptr<ContentStore>(store_);
    });
    socket_path_ = (dir_.path() / "s.sock").string();
    host::api::ServerOptions options;
    options.socket_path = socket_path_;
    options.max_body_bytes = 1024;
    server_ = std::make_unique<host::api::Server>(threads_.io(), router_, options);
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }

  RawClient::Response put(const std::string& target, const std::string& body,
                          bool chunked = false) {
    return RawClient(socket_path_).request(http::verb::post, target, body, chunked);
  }

  std::size_t blobs() const { return entries(root_ / "blobs" / "sha256"); }
  std::size_t ingests() const { return entries(root_ / "ingest"); }

  TempDir dir_;
  fs::path root_;
  std::shared_ptr<content::LocalStore> store_;
  host::api::Router router_;
  IoThreads threads_{2};
  std::string socket_path_;
  std::unique_ptr<host::api::Server> server_;
};

TEST_F(ContentRoutesTest, IngestListGetInfoLabelRemove) {
  const auto data = data_of(6 << 20, 1);
  const auto digest = digest::sha256_of(data);

  auto res = put("/v1/content?label=purpose%3Dtest&label=team%3Dfs", data, true);
  ASSERT_EQ(res.result_int(), 201) << res.body();
  auto info = json::value_to<ContentInfo>(RawClient::json(res));
  EXPECT_EQ(info.digest, digest);
  EXPECT_EQ(info.size, static_cast<std::int64_t>(data.size()));
  EXPECT_EQ(info.labels, (Labels{{"purpose", "test"}, {"team", "fs"}}));

  // Again: the blob exists, 200.
  res = put("/v1/content", data);
  EXPECT_EQ(res.result_int(), 200) << res.body();

  RawClient client(socket_path_);
  res = client.request(http::verb::get, "/v1/content");
  ASSERT_EQ(res.result_int(), 200);
  auto list = json::value_to<std::vector<ContentInfo>>(RawClient::json(res));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].digest, digest);

  res = client.request(http::verb::get, "/v1/content?filter=labels.purpose%3D%3Dother");
  EXPECT_EQ(RawClient::json(res), json::array());
  res = client.request(http::verb::get, "/v1/content?filter=labels.purpose%3D%3Dother&filter=" +
                                            std::string("labels.team"));
  EXPECT_EQ(RawClient::json(res).as_array().size(), 1u);
  res = client.request(http::verb::get, "/v1/content?filter=labels.x%21%3Dy"); // !=
  EXPECT_EQ(RawClient::json(res).as_array().size(), 1u);
  res = client.request(http::verb::get, "/v1/content?filter=labels.x%3Dy"); // one '='
  EXPECT_EQ(res.result_int(), 400);

  client.send_raw("GET /v1/content/" + digest + " HTTP/1.1\r\nHost: strata\r\n\r\n");
  res = client.read_large();
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::content_length], std::to_string(data.size()));
  EXPECT_TRUE(res.body() == data);

  res = client.request(http::verb::get, "/v1/content/" + digest + "?offset=1000");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_TRUE(res.body() == data.substr(1000));
  res = client.request(http::verb::get,
                       "/v1/content/" + digest + "?offset=" + std::to_string(data.size()));
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_TRUE(res.body().empty());
  res = client.request(http::verb::get,
                       "/v1/content/" + digest + "?offset=" + std::to_string(data.size() + 1));
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(RawClient::json(res).at("code"), "OutOfRange");

  res = client.request(http::verb::get, "/v1/content/" + digest + "/info");
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::value_to<ContentInfo>(RawClient::json(res)).labels.size(), 2u);

  res = client.request(http::verb::patch, "/v1/content/" + digest,
                       R"({"labels": {"purpose": "", "new": "yes"}})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(json::value_to<ContentInfo>(RawClient::json(res)).labels,
            (Labels{{"new", "yes"}, {"team", "fs"}}));
  res = client.request(http::verb::patch, "/v1/content/" + digest, R"({"fieldpaths": ["labels"]})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_TRUE(json::value_to<ContentInfo>(RawClient::json(res)).labels.empty());
  res = client.request(http::verb::patch, "/v1/content/" + digest, R"({})");
  EXPECT_EQ(res.result_int(), 400);
  // The same strictness as every route's body (host/routes/json_body): unknown fields and empty
  // label keys are refused, naming them.
  for (std::string body : {R"({"lables": {"a": "1"}})", R"({"labels": {"": "v"}})"}) {
    res = client.request(http::verb::patch, "/v1/content/" + digest, body);
    EXPECT_EQ(res.result_int(), 400) << body << " -> " << res.body();
    EXPECT_EQ(RawClient::json(res).at("code"), "InvalidArgument") << body;
    EXPECT_NE(res.body().find(body.find("lables") != std::string::npos ? "lables" : "empty key"),
              std::string::npos)
        << res.body();
  }

  res = client.request(http::verb::delete_, "/v1/content/" + digest);
  EXPECT_EQ(res.result_int(), 204);
  res = client.request(http::verb::delete_, "/v1/content/" + digest);
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(RawClient::json(res).at("code"), "NotFound");
  res = client.request(http::verb::get, "/v1/content/" + digest);
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(blobs(), 0u);
}

TEST_F(ContentRoutesTest, PutWithTheDigestInThePath) {
  const auto data = data_of(100000, 2);
  const auto digest = digest::sha256_of(data);
  auto res = RawClient(socket_path_).request(http::verb::put, "/v1/content/" + digest, data);
  ASSERT_EQ(res.result_int(), 201) << res.body();
  // A blob that is there already is answered before its body is read.
  RawClient client(socket_path_);
  client.send_raw("PUT /v1/content/" + digest + " HTTP/1.1\r\nHost: strata\r\nContent-Length: " +
                  std::to_string(data.size()) + "\r\nExpect: 100-continue\r\n\r\n");
  res = client.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::value_to<ContentInfo>(RawClient::json(res)).digest, digest);
  // Path and query must agree.
  res = RawClient(socket_path_)
            .request(http::verb::put,
                     "/v1/content/" + digest + "?digest=" + digest::sha256_of("other"), data);
  EXPECT_EQ(res.result_int(), 400);
}

TEST_F(ContentRoutesTest, WrongDigestOrSizeStoresNothing) {
  const auto data = data_of(3 << 20, 3);
  auto res = put("/v1/content?digest=" + digest::sha256_of("something else"), data);
  EXPECT_EQ(res.result_int(), 412) << res.body();
  EXPECT_EQ(RawClient::json(res).at("code"), "FailedPrecondition");
  res = put("/v1/content?size=5", data, true);
  EXPECT_EQ(res.result_int(), 412) << res.body();
  EXPECT_EQ(blobs(), 0u);
  EXPECT_EQ(ingests(), 0u);

  res = put("/v1/content?digest=sha256:nope", data);
  EXPECT_EQ(res.result_int(), 400);
  res = put("/v1/content?size=-1", data);
  EXPECT_EQ(res.result_int(), 400);
  res = put("/v1/content?label=novalue", data);
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(blobs(), 0u);
}

TEST_F(ContentRoutesTest, AbandonedUploadLeavesNoIngestAndServingGoesOn) {
  RawClient client(socket_path_);
  client.send_raw("POST /v1/content?ref=abandoned HTTP/1.1\r\nHost: strata\r\nContent-Length: " +
                  std::to_string(64 << 20) + "\r\n\r\n");
  client.send_raw(data_of(2 << 20, 4));
  // The ingest is under way (its directory exists), then the client goes.
  ASSERT_TRUE(eventually([&] { return ingests() == 1; }));
  client.close();
  ASSERT_TRUE(eventually([&] { return ingests() == 0; })) << "the ingest directory stayed";
  EXPECT_EQ(blobs(), 0u);
  EXPECT_EQ(RawClient(socket_path_).request(http::verb::get, "/v1/health").result_int(), 200);
  // The ref is free again.
  auto res = put("/v1/content?ref=abandoned", "small");
  EXPECT_EQ(res.result_int(), 201) << res.body();
}

TEST_F(ContentRoutesTest, ConcurrentUploadsOfOneRefConflict) {
  RawClient first(socket_path_);
  first.send_raw("POST /v1/content?ref=busy HTTP/1.1\r\nHost: strata\r\nContent-Length: 10\r\n\r\n"
                 "12345");
  ASSERT_TRUE(eventually([&] { return ingests() == 1; }));
  auto res = put("/v1/content?ref=busy", "other");
  EXPECT_EQ(res.result_int(), 503) << res.body();
  first.send_raw("67890");
  res = first.read();
  EXPECT_EQ(res.result_int(), 201) << res.body();
  EXPECT_EQ(json::value_to<ContentInfo>(RawClient::json(res)).digest,
            digest::sha256_of("1234567890"));
}

TEST_F(ContentRoutesTest, NoStoreIs503) {
  store_.reset();
  RawClient client(socket_path_);
  for (auto [method, target] : {std::pair{http::verb::get, std::string("/v1/content")},
                                std::pair{http::verb::get, "/v1/content/" + digest::sha256_of("x")},
                                std::pair{http::verb::post, std::string("/v1/content")}}) {
    auto res = RawClient(socket_path_).request(method, target, "x");
    EXPECT_EQ(res.result_int(), 503) << target;
    EXPECT_EQ(RawClient::json(res).at("code"), "Unavailable");
  }
}

// A source of `data` that counts what was pulled from it.
struct CountingSource {
  const std::string& data;
  std::size_t at = 0;
  Result<std::size_t> operator()(std::span<std::byte> buf) {
    std::size_t n = std::min(buf.size(), data.size() - at);
    std::memcpy(buf.data(), data.data() + at, n);
    at += n;
    return n;
  }
};

TEST_F(ContentRoutesTest, CliClientStreamsBothWays) {
  cli::Client client(socket_path_);
  const auto data = data_of(9 << 20, 5);
  for (bool sized : {false, true}) {
    CountingSource counting{data};
    contentio::Source source = [&](std::span<std::byte> b) { return counting(b); };
    auto answer = client.upload(http::verb::post, "/v1/content", source,
                                sized ? std::optional<std::uint64_t>(data.size()) : std::nullopt);
    ASSERT_TRUE(answer.ok()) << answer.error().to_string();
    EXPECT_EQ(str(answer->at("digest")), digest::sha256_of(data));
  }
  std::string got;
  auto st = client.download("/v1/content/" + digest::sha256_of(data),
                            [&](std::span<const std::byte> b) -> Status {
                              got.append(reinterpret_cast<const char*>(b.data()), b.size());
                              return {};
                            });
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_TRUE(got == data);

  st = client.download("/v1/content/" + digest::sha256_of("absent"),
                       [](std::span<const std::byte>) -> Status { return {}; });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Code::NotFound);
}

TEST_F(ContentRoutesTest, CliClientStopsSendingWhenAnsweredEarly) {
  cli::Client client(socket_path_);
  const auto data = data_of(1 << 20, 6);
  CountingSource first{data};
  contentio::Source whole = [&](std::span<std::byte> b) { return first(b); };
  ASSERT_TRUE(client.upload(http::verb::post, "/v1/content", whole).ok());
  // Known already: stratad answers before the body, and the client stops sending.
  const std::string big(64 << 20, 'x');
  CountingSource counting{big};
  contentio::Source source = [&](std::span<std::byte> b) { return counting(b); };
  auto answer = client.upload(http::verb::post, "/v1/content?digest=" + digest::sha256_of(data),
                              source, big.size());
  ASSERT_TRUE(answer.ok()) << answer.error().to_string();
  EXPECT_EQ(str(answer->at("digest")), digest::sha256_of(data));
  EXPECT_LT(counting.at, big.size());
}

TEST_F(ContentRoutesTest, CliClientSourceFailureAbandonsTheUpload) {
  cli::Client client(socket_path_);
  int calls = 0;
  contentio::Source failing = [&](std::span<std::byte> b) -> Result<std::size_t> {
    if (++calls > 3)
      return Error(Code::Internal, "read error");
    std::fill(b.begin(), b.end(), std::byte{1});
    return b.size();
  };
  auto answer = client.upload(http::verb::post, "/v1/content", failing);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().message(), "read error");
  ASSERT_TRUE(eventually([&] { return ingests() == 0; }));
  EXPECT_EQ(blobs(), 0u);
}

TEST(ContentFormat, SizesAgesLabels) {
  EXPECT_EQ(cli::human_size(512), "512 B");
  EXPECT_EQ(cli::human_size(1536), "1.5 KiB");
  EXPECT_EQ(cli::human_size(20 << 20), "20 MiB");
  EXPECT_EQ(cli::human_size(1 << 20), "1 MiB");
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(cli::human_age(now, now), "now");
  EXPECT_EQ(cli::human_age(now - 1s, now), "1 second");
  EXPECT_EQ(cli::human_age(now - 150s, now), "2 minutes");
  EXPECT_EQ(cli::human_age(now - 49h, now), "2 days");
  EXPECT_EQ(cli::human_age(now + 10s, now), "now");
  EXPECT_EQ(cli::labels_cell({}), "-");
  EXPECT_EQ(cli::labels_cell({{"b", "2"}, {"a", "1"}}), "a=1,b=2");
  EXPECT_TRUE(cli::parse_label_arg("k=").ok());
  EXPECT_EQ(cli::parse_label_arg("k=v=w")->value, "v=w");
  EXPECT_FALSE(cli::parse_label_arg("k").ok());
  EXPECT_FALSE(cli::parse_label_arg("=v").ok());
  ContentInfo info{digest::sha256_of("x"), 2048, now - 3h, now, {{"k", "v"}}};
  EXPECT_EQ(cli::content_table({info}, now),
            "DIGEST" + std::string(info.digest.size() - 6 + 4, ' ') +
                "SIZE     AGE        LABELS\n" + info.digest + "    2 KiB    3 hours    k=v\n");
}

TEST(ContentStoreOf, NoContentPluginIsUnavailableWithAHint) {
  host::PluginSet plugins;
  auto store = host::content_store_of(plugins)();
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code(), Code::Unavailable);
  EXPECT_NE(store.error().message().find("strata.content.v1"), std::string::npos)
      << store.error().message();
}

} // namespace
} // namespace strata::test
