// The `strata` binary (path in $STRATA_CLI) against a real server: output and exit codes.

#include "test_server.hpp"

#include "record/plugin_record.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

namespace strata::test {
namespace {

struct RunResult {
  int rc = -1;
  std::string out;
  std::string err;
};

class CliBinaryTest : public ::testing::Test {
protected:
  void SetUp() override {
    const char* exe = std::getenv("STRATA_CLI");
    ASSERT_NE(exe, nullptr) << "STRATA_CLI must name the strata binary";
    exe_ = exe;
    path_ = (dir_.path() / "strata.sock").string();

    host::PluginRecord overlay;
    overlay.type = "strata.snapshotter.v1";
    overlay.id = "overlayfs";
    overlay.status = host::PluginStatus::Ok;
    overlay.meta.platforms = {{"linux", "amd64", ""}};
    host::PluginRecord blockfile;
    blockfile.type = "strata.snapshotter.v1";
    blockfile.id = "blockfile";
    blockfile.status = host::PluginStatus::Skip;
    blockfile.reason = "no scratch file configured";
    host::PluginRecord walking;
    walking.type = "strata.differ.v1";
    walking.id = "walking";
    walking.status = host::PluginStatus::Ok;
    records_ = json::value_from(std::vector<host::PluginRecord>{overlay, blockfile, walking});

    router_.add(host::api::http::verb::get, "/v1/plugins",
                [this](const host::api::Request&) { return host::api::Response::json(records_); });
    server_ = std::make_unique<host::api::Server>(threads_.io(), router_,
                                                  host::api::ServerOptions{path_, 1024});
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }

  RunResult run(const std::string& args, const std::string& env = {}) {
    auto err_file = (dir_.path() / "stderr").string();
    auto cmd = env + " " + exe_ + " " + args + " 2>" + err_file;
    RunResult r;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p)
      return r;
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
      r.out.append(buf.data(), n);
    int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(err_file);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    return r;
  }

  TempDir dir_;
  host::api::Router router_;
  IoThreads threads_{2};
  std::string exe_;
  std::string path_;
  json::value records_;
  std::unique_ptr<host::api::Server> server_;
};

TEST_F(CliBinaryTest, ListsPluginsAsATable) {
  auto r = run("--address " + path_ + " plugins ls");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "TYPE                     ID           PLATFORMS      STATUS\n"
                   "strata.snapshotter.v1    overlayfs    linux/amd64    ok\n"
                   "strata.snapshotter.v1    blockfile    -              skip\n"
                   "strata.differ.v1         walking      -              ok\n");
}

TEST_F(CliBinaryTest, AddressFromEnvironmentAndAlias) {
  auto r = run("plugin ls -q", "STRATA_ADDRESS=" + path_);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.out, "overlayfs\nblockfile\nwalking\n");
}

TEST_F(CliBinaryTest, FiltersAndDetail) {
  auto r = run("-a " + path_ + " plugins ls -d status!=ok");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("ID:           blockfile"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Reason:       no scratch file configured"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("overlayfs"), std::string::npos) << r.out;
}

TEST_F(CliBinaryTest, JsonIsWhatTheServerSent) {
  auto r = run("-a " + path_ + " plugins ls --json");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), records_);
  r = run("-a " + path_ + " plugins ls --json type==strata.differ.v1");
  EXPECT_EQ(json::parse(r.out), json::value(json::array{records_.as_array()[2]}));
}

TEST_F(CliBinaryTest, UsageErrorsExit2) {
  auto r = run("-a " + path_ + " plugins ls color==red");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("color==red"), std::string::npos) << r.err;
  EXPECT_EQ(run("-a " + path_ + " plugins ls --bogus").rc, 2);
  EXPECT_EQ(run("-a " + path_ + " plugins ls -q -d").rc, 2);
  EXPECT_EQ(run("").rc, 2);
}

// A --source-date-epoch out of [0, 9223372036] is a usage error naming the range, refused
// before any request (it used to wrap in the conversion to a Timestamp and be sent).
TEST_F(CliBinaryTest, SourceDateEpochOutOfRangeIsAUsageError) {
  for (std::string bad : {"9223372036854775807", "18446744073709551615", "-9223372036854775808",
                          "-1", "253402300799", "soon"}) {
    auto r = run("-a " + path_ + " diff compare --source-date-epoch=" + bad + " / /");
    EXPECT_EQ(r.rc, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("--source-date-epoch"), std::string::npos) << r.err;
    if (bad != "soon") {
      EXPECT_NE(r.err.find("9223372036]"), std::string::npos) << r.err;
    }
  }
}

TEST_F(CliBinaryTest, HelpExits0) {
  auto r = run("--help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos) << r.out;
  r = run("plugins ls --help");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.out.find("strata plugins ls"), std::string::npos) << r.out;
}

TEST_F(CliBinaryTest, UnreachableDaemonExits1WithTheReason) {
  auto absent = (dir_.path() / "absent.sock").string();
  auto r = run("-a " + absent + " plugins ls");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("strata: error: Unavailable: cannot reach stratad at " + absent, 0), 0u)
      << r.err;
}

TEST_F(CliBinaryTest, InspectRefusesANonPlugin) {
  auto file = (dir_.path() / "not-a-plugin.so").string();
  std::ofstream(file) << "just text";
  auto r = run("plugin inspect " + file);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("strata: error: "), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Verdict:"), std::string::npos) << r.out;
  r = run("plugin inspect --json " + file);
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(json::parse(r.out).at("loadable"), false);
}

} // namespace
} // namespace strata::test
