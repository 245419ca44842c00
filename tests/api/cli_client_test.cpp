// The CLI's client against the real server, and the CLI's renderings of plugin records.

#include "client.hpp"
#include "json_output.hpp"
#include "plugins_format.hpp"
#include "progress_bars.hpp"
#include "table.hpp"
#include "test_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>

namespace strata::test {
namespace {

using cli::Client;

class ClientTest : public ::testing::Test {
protected:
  void SetUp() override {
    path_ = (dir_.path() / "strata.sock").string();
    server_ = std::make_unique<host::api::Server>(threads_.io(), router_,
                                                  host::api::ServerOptions{path_, 1024});
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }

  TempDir dir_;
  host::api::Router router_ = test_router();
  IoThreads threads_{2};
  std::string path_;
  std::unique_ptr<host::api::Server> server_;
};

TEST_F(ClientTest, GetsJson) {
  auto r = Client(path_).get("/v1/hello");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, (json::value{{"hello", "world"}}));
}

TEST_F(ClientTest, PostsJson) {
  json::value body{{"k", json::array{1, "two"}}};
  auto r = Client(path_).post("/v1/echo", body);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(*r, body);
}

TEST_F(ClientTest, EncodedSegmentsReachTheHandlerDecoded) {
  auto r = Client(path_).get("/v1/items/" + cli::encode_segment("a/b c%?"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->at("name"), "a/b c%?");
}

TEST(Client, EncodeSegmentEscapesAllButUnreservedColonAndAt) {
  EXPECT_EQ(cli::encode_segment("default/12/sha256:abc def"), "default%2F12%2Fsha256:abc%20def");
  EXPECT_EQ(cli::encode_segment("aZ09-._~:@"), "aZ09-._~:@");
  EXPECT_EQ(cli::encode_segment("%?#+;=&!$'()*,[]\"{}"),
            "%25%3F%23%2B%3B%3D%26%21%24%27%28%29%2A%2C%5B%5D%22%7B%7D");
  EXPECT_EQ(cli::encode_segment("\u20ac"), "%E2%82%AC");
  EXPECT_EQ(cli::encode_segment(""), "");
}

TEST_F(ClientTest, ServerErrorsKeepTheirCodeAndMessage) {
  Client client(path_);
  auto nf = client.get("/v1/nope");
  ASSERT_FALSE(nf.ok());
  EXPECT_EQ(nf.error().code(), Code::NotFound);
  EXPECT_NE(nf.error().message().find("no route for GET /v1/nope"), std::string::npos);

  auto internal = client.get("/v1/throw");
  ASSERT_FALSE(internal.ok());
  EXPECT_EQ(internal.error().code(), Code::Internal);

  auto too_big = client.post("/v1/echo", json::value(std::string(4096, 'x')));
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.error().code(), Code::ResourceExhausted);
}

// A body written over time (unpack progress) must reach the sink as it comes, not when a buffer
// fills: the server holds its second line back until the client has seen the first.
TEST_F(ClientTest, DownloadWithABodyDeliversLinesAsTheyCome) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool first_seen = false;
    std::string request_body;
  };
  auto shared = std::make_shared<Shared>();
  router_.add(
      host::api::http::verb::post, "/v1/trickle",
      [shared](const host::api::Request& req) {
        shared->request_body = req.body;
        return host::api::Response::streamed(
            [shared, step = 0](std::span<std::byte> buf) mutable -> Result<std::size_t> {
              std::string line;
              if (step == 0) {
                line = "first\n";
              } else if (step == 1) {
                std::unique_lock lock(shared->mu);
                if (!shared->cv.wait_for(lock, std::chrono::seconds(10),
                                         [&] { return shared->first_seen; }))
                  return internal_error("the client never saw the first line");
                line = "second\n";
              } else {
                return std::size_t(0);
              }
              ++step;
              std::memcpy(buf.data(), line.data(), line.size());
              return line.size();
            },
            std::nullopt, "application/x-ndjson");
      },
      host::api::Streaming{.download = true, .long_running = true});
  std::string received;
  json::value body{{"progress", true}};
  auto st = Client(path_).download(
      host::api::http::verb::post, "/v1/trickle", &body, [&](std::span<const std::byte> d) {
        received.append(reinterpret_cast<const char*>(d.data()), d.size());
        if (received.find("first\n") != std::string::npos) {
          std::lock_guard lock(shared->mu);
          shared->first_seen = true;
          shared->cv.notify_all();
        }
        return Status{};
      });
  ASSERT_TRUE(st.ok()) << st.error().to_string();
  EXPECT_EQ(received, "first\nsecond\n");
  EXPECT_EQ(json::parse(shared->request_body), body);
}

TEST(ProgressBars, BarsAndRedraws) {
  EXPECT_EQ(cli::bar(0, 100, 4), "[....]");
  EXPECT_EQ(cli::bar(50, 100, 4), "[##..]");
  EXPECT_EQ(cli::bar(500, 100, 4), "[####]");
  EXPECT_EQ(cli::bar(0, 0, 4), "[####]");
  std::ostringstream out;
  cli::ProgressBars bars(out, {{"layer 1/2", 1024, 0, "waiting"}, {"layer 2/2", 2048, 0, ""}});
  bars.update(0, 1024, "committed");
  bars.finish();
  const std::string text = out.str();
  // Three lines (two layers and the total) per drawing; the second drawing moves up over the first.
  EXPECT_NE(text.find("\x1b[3A"), std::string::npos) << text;
  EXPECT_NE(text.find("committed"), std::string::npos) << text;
  EXPECT_NE(text.find("total"), std::string::npos) << text;
  EXPECT_NE(text.find("3 KiB"), std::string::npos) << text;
}

TEST(Client, MissingSocketIsUnavailableWithAHint) {
  TempDir dir;
  auto path = (dir.path() / "absent.sock").string();
  auto r = Client(path).get("/v1/health");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::Unavailable);
  EXPECT_NE(r.error().message().find("cannot reach stratad at " + path), std::string::npos);
  EXPECT_NE(r.error().message().find("STRATA_ADDRESS"), std::string::npos);
}

TEST(Client, CodeForStatus) {
  EXPECT_EQ(cli::code_for_status(404), Code::NotFound);
  EXPECT_EQ(cli::code_for_status(409), Code::AlreadyExists);
  EXPECT_EQ(cli::code_for_status(502), Code::Internal);
}

host::PluginRecord record(std::string type, std::string id, host::PluginStatus status) {
  host::PluginRecord r;
  r.type = std::move(type);
  r.id = std::move(id);
  r.status = status;
  return r;
}

TEST(PluginsFormat, Filters) {
  auto overlay = record("strata.snapshotter.v1", "overlayfs", host::PluginStatus::Ok);
  auto walking = record("strata.differ.v1", "walking", host::PluginStatus::Error);
  auto parse = [](std::string_view text) { return *cli::parse_plugin_filter(text); };
  EXPECT_TRUE(cli::matches({}, overlay));
  EXPECT_TRUE(cli::matches({parse("type==strata.snapshotter.v1")}, overlay));
  EXPECT_FALSE(cli::matches({parse("type==strata.snapshotter.v1")}, walking));
  EXPECT_TRUE(cli::matches({parse("status!=ok")}, walking));
  EXPECT_FALSE(cli::matches({parse("id==overlayfs,status!=ok")}, overlay));
  EXPECT_TRUE(cli::matches({parse("id==nothing"), parse("id==walking")}, walking));
  EXPECT_TRUE(cli::matches({parse("id~=^over")}, overlay)) << "the SDK's filter syntax: regexes";
  for (auto bad : {"type=x", "type==", "color==red", "id==x,", "==x", "id!x", "labels.a"})
    EXPECT_FALSE(cli::parse_plugin_filter(bad).ok()) << bad;
}

TEST(PluginsFormat, PlatformsCell) {
  Meta m;
  EXPECT_EQ(cli::platforms_cell(m), "-");
  m.platforms = {{"linux", "arm64", "v8"}, {"linux", "amd64", ""}, {"linux", "arm64", "v8"}};
  EXPECT_EQ(cli::platforms_cell(m), "linux/amd64,linux/arm64/v8");
}

TEST(PluginsFormat, TableIsAligned) {
  auto overlay = record("strata.snapshotter.v1", "overlayfs", host::PluginStatus::Ok);
  overlay.meta.platforms = {{"linux", "amd64", ""}};
  auto walking = record("strata.differ.v1", "walking", host::PluginStatus::Skip);
  EXPECT_EQ(cli::plugins_table({overlay, walking}),
            "TYPE                     ID           PLATFORMS      STATUS\n"
            "strata.snapshotter.v1    overlayfs    linux/amd64    ok\n"
            "strata.differ.v1         walking      -              skip\n");
}

TEST(PluginsFormat, DetailedShowsWhyAPluginFailed) {
  auto r = record("strata.snapshotter.v1", "blockfile", host::PluginStatus::Error);
  r.version = "1.0.0";
  r.requires_list = {"strata.content.v1.*"};
  r.meta.exports = {{"root", "/var/lib/strata/x"}, {"scratch", "/s"}};
  r.reason = "no scratch file configured";
  r.error_code = "FailedPrecondition";
  r.file = "/usr/lib/strata/plugins/blockfile.so";
  EXPECT_EQ(cli::plugins_detailed({r}), "Type:         strata.snapshotter.v1\n"
                                        "ID:           blockfile\n"
                                        "Version:      1.0.0\n"
                                        "Requires:     strata.content.v1.*\n"
                                        "Platforms:    -\n"
                                        "Exports:      root=/var/lib/strata/x\n"
                                        "              scratch=/s\n"
                                        "Capabilities: -\n"
                                        "Status:       error\n"
                                        "Reason:       no scratch file configured\n"
                                        "Error code:   FailedPrecondition\n"
                                        "File:         /usr/lib/strata/plugins/blockfile.so\n");
}

TEST(Table, WidthCountsCodePoints) {
  cli::Table t({"A", "B"});
  t.add_row({"\xc3\xa9t\xc3\xa9", "x"});
  t.add_row({"a"});
  EXPECT_EQ(t.render(), "A      B\n\xc3\xa9t\xc3\xa9    x\na\n");
  EXPECT_THROW(t.add_row({"1", "2", "3"}), std::invalid_argument);
}

TEST(JsonOutput, PrettyPrintKeepsTheData) {
  auto v = json::parse(R"({"a":[1,2.5,{"b":null}],"c":{},"d":[],"e":"x\"y"})");
  std::ostringstream out;
  cli::print_json(out, v);
  EXPECT_EQ(json::parse(out.str()), v);
  EXPECT_NE(out.str().find("\n  \"a\": [\n    1,"), std::string::npos) << out.str();
}

} // namespace
} // namespace strata::test
