// The snapshot routes (host/routes/snapshot_routes.cpp) over a real unix socket, on a small
// in-memory snapshotter that follows the interface's semantics closely enough to check routing,
// statuses, JSON shapes, keys holding '/' and spaces, filters reaching walk(), and the 404/503
// answers for snapshotters that are missing or not ok. Also the CLI's snapshot renderings.

#include "client.hpp"
#include "raw_client.hpp"
#include "routes/snapshot_routes.hpp"
#include "snapshot_format.hpp"
#include "test_server.hpp"

#include <strata/plugin/filters.hpp>
#include <strata/plugin/labels.hpp>
#include <strata/plugin/types.hpp>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

namespace strata::test {
namespace {

using namespace std::chrono_literals;

// Snapshots in a map; mounts are bind mounts of made-up directories. Filters are the SDK's
// snapshot filters (strata/plugin/filters.hpp); one that does not parse is InvalidArgument, so
// tests can see that what they sent is what walk() got.
class FakeSnapshotter final : public Snapshotter {
public:
  Result<Info> stat(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = snapshots_.find(key);
    if (it == snapshots_.end())
      return not_found("snapshot \"" + key + "\" does not exist");
    return it->second;
  }

  Result<Info> update(const Info& info, const std::vector<std::string>& fieldpaths) override {
    std::lock_guard lock(mu_);
    auto it = snapshots_.find(info.name);
    if (it == snapshots_.end())
      return not_found("snapshot \"" + info.name + "\" does not exist");
    auto labels = update_labels(it->second.labels, info.labels, fieldpaths); // the SDK's
    if (!labels)
      return std::move(labels).error();
    it->second.labels = std::move(*labels);
    it->second.updated = std::chrono::system_clock::now();
    return it->second;
  }

  Result<Usage> usage(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = snapshots_.find(key);
    if (it == snapshots_.end())
      return not_found("snapshot \"" + key + "\" does not exist");
    return Usage{static_cast<std::int64_t>(key.size()) * 1000, 7};
  }

  Result<std::vector<Mount>> mounts(const std::string& key) override {
    std::lock_guard lock(mu_);
    auto it = snapshots_.find(key);
    if (it == snapshots_.end())
      return not_found("snapshot \"" + key + "\" does not exist");
    if (it->second.kind == Kind::Committed)
      return failed_precondition("snapshot \"" + key + "\" is committed: not active or view");
    return mounts_of(it->second);
  }

  Result<std::vector<Mount>> prepare(const std::string& key, const std::string& parent,
                                     const SnapshotOptions& opts) override {
    return create(key, parent, opts, Kind::Active);
  }
  Result<std::vector<Mount>> view(const std::string& key, const std::string& parent,
                                  const SnapshotOptions& opts) override {
    return create(key, parent, opts, Kind::View);
  }

  Status commit(const std::string& name, const std::string& key,
                const SnapshotOptions& opts) override {
    std::lock_guard lock(mu_);
    auto it = snapshots_.find(key);
    if (it == snapshots_.end())
      return not_found("snapshot \"" + key + "\" does not exist");
    if (snapshots_.count(name))
      return already_exists("snapshot \"" + name + "\" already exists");
    if (it->second.kind != Kind::Active)
      return failed_precondition("snapshot \"" + key + "\" is not active");
    Info info = it->second;
    if (!opts.parent.empty() && opts.parent != info.parent) {
      if (!info.parent.empty())
        return invalid_argument("cannot rebase onto a different parent");
      if (!snapshots_.count(opts.parent))
        return not_found("parent \"" + opts.parent + "\" does not exist");
      info.parent = opts.parent;
    }
    snapshots_.erase(it);
    info.kind = Kind::Committed;
    info.name = name;
    info.labels = opts.labels;
    info.created = info.updated = std::chrono::system_clock::now();
    snapshots_[name] = std::move(info);
    return {};
  }

  Status remove(const std::string& key) override {
    std::lock_guard lock(mu_);
    if (!snapshots_.count(key))
      return not_found("snapshot \"" + key + "\" does not exist");
    for (const auto& [k, s] : snapshots_)
      if (s.parent == key)
        return failed_precondition("cannot remove snapshot \"" + key + "\" with child \"" + k +
                                   "\"");
    snapshots_.erase(key);
    return {};
  }

  Status walk(const WalkFn& fn, const std::vector<std::string>& filters) override {
    std::vector<Info> matched;
    {
      std::lock_guard lock(mu_);
      walked_filters_ = filters;
      auto parsed = parse_snapshot_filters(filters); // the SDK's, as every snapshotter's
      if (!parsed)
        return std::move(parsed).error();
      for (const auto& [k, s] : snapshots_)
        if (matches(*parsed, s))
          matched.push_back(s);
    }
    for (const auto& s : matched)
      if (auto st = fn(s); !st)
        return st;
    return {};
  }

  Status cleanup() override {
    std::lock_guard lock(mu_);
    if (!cleanable_)
      return Snapshotter::cleanup();
    ++cleanups_;
    return {};
  }

  std::vector<Mount> mounts_of(const Info& s) const {
    return {Mount{
        "bind", source_root_ + "/" + s.name, "", {s.kind == Kind::View ? "ro" : "rw", "rbind"}}};
  }
  // Where the bind mounts' sources are: made-up paths unless a test mounts them for real.
  void set_source_root(std::string root) {
    std::lock_guard lock(mu_);
    source_root_ = std::move(root);
  }

  std::vector<std::string> walked_filters() {
    std::lock_guard lock(mu_);
    return walked_filters_;
  }
  void set_cleanable() {
    std::lock_guard lock(mu_);
    cleanable_ = true;
  }
  int cleanups() {
    std::lock_guard lock(mu_);
    return cleanups_;
  }

private:
  Result<std::vector<Mount>> create(const std::string& key, const std::string& parent,
                                    const SnapshotOptions& opts, Kind kind) {
    std::lock_guard lock(mu_);
    if (snapshots_.count(key))
      return already_exists("snapshot \"" + key + "\" already exists");
    if (!parent.empty()) {
      auto p = snapshots_.find(parent);
      if (p == snapshots_.end())
        return not_found("missing parent \"" + parent + "\"");
      if (p->second.kind != Kind::Committed)
        return invalid_argument("parent \"" + parent + "\" is not a committed snapshot");
    }
    Info info{kind, key, parent, opts.labels, std::chrono::system_clock::now(), {}};
    info.updated = info.created;
    std::erase_if(info.labels, [](const auto& kv) { return kv.second.empty(); });
    snapshots_[key] = info;
    return mounts_of(info);
  }

  std::mutex mu_;
  std::map<std::string, Info> snapshots_;
  std::vector<std::string> walked_filters_;
  bool cleanable_ = false;
  int cleanups_ = 0;
  std::string source_root_ = "/fake";
};

host::PluginRecord record(std::string id, host::PluginStatus status, std::string reason = {}) {
  host::PluginRecord r;
  r.type = plugin_type::snapshotter;
  r.id = std::move(id);
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

class SnapshotRoutesTest : public ::testing::Test {
protected:
  void SetUp() override {
    host::api::add_health_route(router_);
    host::add_snapshot_routes(router_, [this] {
      std::lock_guard lock(mu_);
      return entries_;
    });
    entries_.push_back({record("fake", host::PluginStatus::Ok), fake_});
    auto r =
        record("broken", host::PluginStatus::Error, "overlay is not supported by /var/lib: EINVAL");
    entries_.push_back({r, nullptr});
    socket_path_ = (dir_.path() / "s.sock").string();
    host::api::ServerOptions options;
    options.socket_path = socket_path_;
    server_ = std::make_unique<host::api::Server>(threads_.io(), router_, options);
    auto st = server_->start();
    ASSERT_TRUE(st.ok()) << st.error().to_string();
  }

  RawClient::Response req(http::verb method, const std::string& target,
                          const std::string& body = {}) {
    return RawClient(socket_path_).request(method, target, body);
  }
  // The path of snapshot `key` (or the collection) of snapshotter "fake", encoded as the CLI
  // encodes it.
  static std::string path(std::string_view key = {}, std::string_view suffix = {}) {
    return cli::snapshot_path("fake", key, suffix);
  }

  TempDir dir_;
  std::shared_ptr<FakeSnapshotter> fake_ = std::make_shared<FakeSnapshotter>();
  std::mutex mu_;
  std::vector<host::SnapshotterEntry> entries_;
  host::api::Router router_;
  IoThreads threads_{2};
  std::string socket_path_;
  std::unique_ptr<host::api::Server> server_;
};

TEST_F(SnapshotRoutesTest, PrepareCommitViewStatUsageRemove) {
  auto res = req(http::verb::post, path(), R"({"key": "base", "labels": {"team": "fs"}})");
  ASSERT_EQ(res.result_int(), 201) << res.body();
  // The answer is the Mount list, in the SDK's JSON shape.
  auto mounts = json::value_to<std::vector<Mount>>(RawClient::json(res));
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0], (Mount{"bind", "/fake/base", "", {"rw", "rbind"}}));
  EXPECT_EQ(RawClient::json(res).at(0).at("type"), "bind");

  res = req(http::verb::get, path("base"));
  ASSERT_EQ(res.result_int(), 200);
  auto info = json::value_to<Info>(RawClient::json(res));
  EXPECT_EQ(info.kind, Kind::Active);
  EXPECT_EQ(info.labels, (Labels{{"team", "fs"}}));
  EXPECT_EQ(RawClient::json(res).at("kind"), "Active");

  res = req(http::verb::get, path("base", "mounts"));
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(json::value_to<std::vector<Mount>>(RawClient::json(res)), mounts);

  res = req(http::verb::post, path("base", "commit"), R"({"name": "layer", "labels": {"a": "1"}})");
  ASSERT_EQ(res.result_int(), 201) << res.body();
  info = json::value_to<Info>(RawClient::json(res));
  EXPECT_EQ(info.name, "layer");
  EXPECT_EQ(info.kind, Kind::Committed);
  EXPECT_EQ(info.labels, (Labels{{"a", "1"}}));
  EXPECT_EQ(req(http::verb::get, path("base")).result_int(), 404);

  res = req(http::verb::post, path(), R"({"key": "look", "parent": "layer", "kind": "view"})");
  ASSERT_EQ(res.result_int(), 201) << res.body();
  EXPECT_EQ(json::value_to<std::vector<Mount>>(RawClient::json(res))[0].options[0], "ro");
  res = req(http::verb::get, path("look"));
  EXPECT_EQ(json::value_to<Info>(RawClient::json(res)).kind, Kind::View);
  EXPECT_EQ(json::value_to<Info>(RawClient::json(res)).parent, "layer");

  res = req(http::verb::get, path("layer", "usage"));
  ASSERT_EQ(res.result_int(), 200);
  EXPECT_EQ(RawClient::json(res), (json::value{{"size", 5000}, {"inodes", 7}}));

  // The snapshotter's error codes, as statuses.
  res = req(http::verb::post, path(), R"({"key": "layer"})");
  EXPECT_EQ(res.result_int(), 409);
  EXPECT_EQ(RawClient::json(res).at("code"), "AlreadyExists");
  EXPECT_EQ(req(http::verb::post, path(), R"({"key": "x", "parent": "nope"})").result_int(), 404);
  EXPECT_EQ(req(http::verb::post, path(), R"({"key": "x", "parent": "look"})").result_int(), 400);
  EXPECT_EQ(req(http::verb::get, path("layer", "mounts")).result_int(), 412);
  EXPECT_EQ(req(http::verb::post, path("look", "commit"), R"({"name": "y"})").result_int(), 412);
  res = req(http::verb::delete_, path("layer"));
  EXPECT_EQ(res.result_int(), 412);
  EXPECT_EQ(RawClient::json(res).at("code"), "FailedPrecondition");

  EXPECT_EQ(req(http::verb::delete_, path("look")).result_int(), 204);
  EXPECT_EQ(req(http::verb::delete_, path("layer")).result_int(), 204);
  res = req(http::verb::delete_, path("layer"));
  EXPECT_EQ(res.result_int(), 404);
  EXPECT_EQ(RawClient::json(res).at("code"), "NotFound");
  EXPECT_EQ(RawClient::json(req(http::verb::get, path())), json::array());
}

TEST_F(SnapshotRoutesTest, KeysWithSlashesAndSpaces) {
  const std::string key = "default/12/sha256:abc def";
  json::value body{{"key", key}};
  auto res = req(http::verb::post, path(), json::serialize(body));
  ASSERT_EQ(res.result_int(), 201) << res.body();
  // The key is one path segment, '/' and ' ' percent-encoded.
  EXPECT_EQ(path(key), "/v1/snapshotters/fake/snapshots/default%2F12%2Fsha256:abc%20def");

  res = req(http::verb::get, path(key));
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(json::value_to<Info>(RawClient::json(res)).name, key);
  res = req(http::verb::get, path(key, "mounts"));
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(json::value_to<std::vector<Mount>>(RawClient::json(res))[0].source, "/fake/" + key);
  // Unencoded, the slashes are path separators and the route does not match.
  EXPECT_EQ(req(http::verb::get, "/v1/snapshotters/fake/snapshots/default/12/x").result_int(), 404);

  const std::string name = "layers/one two";
  res = req(http::verb::post, path(key, "commit"), json::serialize(json::value{{"name", name}}));
  ASSERT_EQ(res.result_int(), 201) << res.body();
  res = req(http::verb::patch, path(name), R"({"labels": {"k": "v"}})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(json::value_to<Info>(RawClient::json(res)).labels, (Labels{{"k", "v"}}));
  res = req(http::verb::get, path());
  auto list = json::value_to<std::vector<Info>>(RawClient::json(res));
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, name);
  EXPECT_EQ(req(http::verb::delete_, path(name)).result_int(), 204);

  // The CLI's client takes the same paths.
  cli::Client client(socket_path_);
  ASSERT_TRUE(client.post(path(), json::value{{"key", "a/b"}}).ok());
  auto info = client.get(path("a/b"));
  ASSERT_TRUE(info.ok()) << info.error().to_string();
  EXPECT_EQ(info->at("name"), "a/b");
}

TEST_F(SnapshotRoutesTest, LabelsPatch) {
  ASSERT_EQ(
      req(http::verb::post, path(), R"({"key": "s", "labels": {"a": "1", "b": "2"}})").result_int(),
      201);
  // Without fieldpaths only the labels named change; an empty value removes one.
  auto res = req(http::verb::patch, path("s"), R"({"labels": {"a": "", "c": "3"}})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_EQ(json::value_to<Info>(RawClient::json(res)).labels, (Labels{{"b", "2"}, {"c", "3"}}));
  res = req(http::verb::patch, path("s"), R"({"fieldpaths": ["labels"]})");
  ASSERT_EQ(res.result_int(), 200) << res.body();
  EXPECT_TRUE(json::value_to<Info>(RawClient::json(res)).labels.empty());
  EXPECT_EQ(req(http::verb::patch, path("s"), R"({})").result_int(), 400);
  res = req(http::verb::patch, path("s"), R"({"labels": {}, "fieldpaths": ["parent"]})");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(RawClient::json(res).at("code"), "InvalidArgument");
  EXPECT_EQ(req(http::verb::patch, path("missing"), R"({"labels": {"a": "1"}})").result_int(), 404);
}

TEST_F(SnapshotRoutesTest, FiltersReachWalk) {
  for (auto key : {"a1", "a2", "b1"})
    ASSERT_EQ(req(http::verb::post, path(),
                  json::serialize(json::value{{"key", key},
                                              {"labels", {{"group", key[0] == 'a' ? "a" : "b"}}}}))
                  .result_int(),
              201);
  ASSERT_EQ(req(http::verb::post, path("a1", "commit"), R"({"name": "a1c"})").result_int(), 201);

  auto names = [&](const std::string& query) {
    auto res = req(http::verb::get, path() + query);
    EXPECT_EQ(res.result_int(), 200) << res.body();
    std::vector<std::string> out;
    for (const auto& i : json::value_to<std::vector<Info>>(RawClient::json(res)))
      out.push_back(i.name);
    return out;
  };
  EXPECT_EQ(names(""), (std::vector<std::string>{"a1c", "a2", "b1"}));
  EXPECT_TRUE(fake_->walked_filters().empty());
  EXPECT_EQ(names("?filter=kind%3D%3Dcommitted"), (std::vector<std::string>{"a1c"}));
  // Several filters are OR'd, the terms of one AND'd; each arrives decoded and in order.
  EXPECT_EQ(names("?filter=name%3D%3Db1&filter=labels.group%3D%3Da%2Ckind%3D%3Dactive"),
            (std::vector<std::string>{"a2", "b1"}));
  EXPECT_EQ(fake_->walked_filters(),
            (std::vector<std::string>{"name==b1", "labels.group==a,kind==active"}));
  auto res = req(http::verb::get, path() + "?filter=kind%3Dx");
  EXPECT_EQ(res.result_int(), 400);
  EXPECT_EQ(RawClient::json(res).at("code"), "InvalidArgument");
}

TEST_F(SnapshotRoutesTest, MalformedBodies) {
  for (std::string body : {R"({})", R"({"key": ""})", R"({"key": 5})", R"([1])", "not json",
                           R"({"key": "k", "parnet": "p"})", R"({"key": "k", "kind": "committed"})",
                           R"({"key": "k", "kind": "sideways"})", R"({"key": "k", "labels": [1]})",
                           R"({"key": "k", "labels": {"": "v"}})"}) {
    auto res = req(http::verb::post, path(), body);
    EXPECT_EQ(res.result_int(), 400) << body << " -> " << res.body();
    EXPECT_EQ(RawClient::json(res).at("code"), "InvalidArgument") << body;
  }
  auto res = req(http::verb::post, path(), R"({"key": "k", "parnet": "p"})");
  EXPECT_NE(res.body().find("parnet"), std::string::npos) << res.body();
  ASSERT_EQ(req(http::verb::post, path(), R"({"key": "k"})").result_int(), 201);
  for (std::string body :
       {R"({})", R"({"name": "n", "lables": {}})", R"({"name": "n", "labels": {"": "v"}})"})
    EXPECT_EQ(req(http::verb::post, path("k", "commit"), body).result_int(), 400) << body;
  EXPECT_EQ(RawClient::json(req(http::verb::get, path())).as_array().size(), 1u);
}

// One key rule (check_snapshot_key) for keys that are created and keys that are named: a key
// prepare accepted but stat/remove could not name (NUL, 64 KiB) left an unremovable snapshot.
TEST_F(SnapshotRoutesTest, KeysFollowOneRuleWhereverCreatedOrNamed) {
  ASSERT_EQ(req(http::verb::post, path(), R"({"key": "active"})").result_int(), 201);
  ASSERT_EQ(req(http::verb::post, path("active", "commit"), R"({"name": "layer"})").result_int(),
            201);
  ASSERT_EQ(req(http::verb::post, path(), R"({"key": "work", "parent": "layer"})").result_int(),
            201);
  const std::string huge(64 * 1024, 'k');
  const std::string bad_utf8 = "key-\xff\xfe";
  auto expect_refused = [&](http::verb method, const std::string& target, const json::value& body,
                            std::string_view field) {
    auto res = req(method, target, json::serialize(body));
    EXPECT_EQ(res.result_int(), 400) << target << " " << json::serialize(body).substr(0, 80)
                                     << " -> " << res.body().substr(0, 300);
    if (res.result_int() == 400) {
      EXPECT_EQ(RawClient::json(res).at("code"), "InvalidArgument");
      EXPECT_NE(res.body().find(field), std::string::npos) << res.body().substr(0, 300);
    }
  };
  for (const std::string& bad : {std::string("nul\0key", 7), huge}) {
    for (std::string kind : {"active", "view"}) {
      expect_refused(http::verb::post, path(), {{"key", bad}, {"kind", kind}}, "\\\"key\\\"");
      expect_refused(http::verb::post, path(), {{"key", "ok-" + kind}, {"parent", bad}},
                     "\\\"parent\\\"");
    }
    expect_refused(http::verb::post, path("work", "commit"), {{"name", bad}}, "\\\"name\\\"");
    expect_refused(http::verb::post, path("work", "commit"), {{"name", "n"}, {"parent", bad}},
                   "\\\"parent\\\"");
  }
  // JSON cannot carry invalid UTF-8 (the parser refuses it), a path can: it is refused as the
  // same rule, not looked up.
  auto res = req(http::verb::post, path(), "{\"key\": \"" + bad_utf8 + "\"}");
  EXPECT_EQ(res.result_int(), 400) << res.body();
  for (auto suffix : {"", "mounts", "usage"}) {
    res = req(http::verb::get, path(bad_utf8, suffix));
    EXPECT_EQ(res.result_int(), 400) << suffix << " -> " << res.body();
    EXPECT_NE(res.body().find("UTF-8"), std::string::npos) << res.body();
  }
  EXPECT_EQ(req(http::verb::delete_, path(bad_utf8)).result_int(), 400);
  EXPECT_EQ(req(http::verb::patch, path(bad_utf8), R"({"labels": {"a": "1"}})").result_int(), 400);
  EXPECT_EQ(req(http::verb::post, path(bad_utf8, "commit"), R"({"name": "n"})").result_int(), 400);
  // Nothing refused was created.
  EXPECT_EQ(RawClient::json(req(http::verb::get, path())).as_array().size(), 2u);

  // The longest key, every byte percent-encoded in the path (a 3-byte character), round-trips.
  std::string longest;
  while (longest.size() + 3 <= max_snapshot_key_bytes)
    longest += "\xe2\x82\xac"; // U+20AC
  longest += std::string(max_snapshot_key_bytes - longest.size(), 'x');
  ASSERT_EQ(longest.size(), max_snapshot_key_bytes);
  res = req(http::verb::post, path(), json::serialize(json::value{{"key", longest}}));
  ASSERT_EQ(res.result_int(), 201) << res.body().substr(0, 300);
  res = req(http::verb::get, path(longest));
  ASSERT_EQ(res.result_int(), 200) << res.body().substr(0, 300);
  EXPECT_EQ(json::value_to<Info>(RawClient::json(res)).name, longest);
  EXPECT_EQ(req(http::verb::delete_, path(longest)).result_int(), 204);
  EXPECT_EQ(req(http::verb::get, path(longest)).result_int(), 404);
  // One byte more is refused where it is created.
  expect_refused(http::verb::post, path(), {{"key", longest + "x"}}, "4096");
}

TEST_F(SnapshotRoutesTest, UnknownAndBrokenSnapshotters) {
  auto res = req(http::verb::get, "/v1/snapshotters");
  ASSERT_EQ(res.result_int(), 200);
  auto list = RawClient::json(res).as_array();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].at("name"), "fake");
  EXPECT_EQ(list[0].at("status"), "ok");
  EXPECT_EQ(list[1].at("name"), "broken");
  EXPECT_EQ(list[1].at("status"), "error");
  EXPECT_NE(json::serialize(list[1].at("reason")).find("EINVAL"), std::string::npos);

  res = req(http::verb::get, "/v1/snapshotters/nope/snapshots");
  EXPECT_EQ(res.result_int(), 404);
  auto message = std::string(RawClient::json(res).at("message").as_string());
  EXPECT_NE(message.find("\"nope\""), std::string::npos) << message;
  EXPECT_NE(message.find("fake (ok)"), std::string::npos) << message;
  EXPECT_NE(message.find("broken (error)"), std::string::npos) << message;

  for (auto [method, target] :
       {std::pair{http::verb::get, std::string("/v1/snapshotters/broken/snapshots")},
        std::pair{http::verb::get, std::string("/v1/snapshotters/broken/snapshots/k")},
        std::pair{http::verb::post, std::string("/v1/snapshotters/broken/cleanup")}}) {
    res = req(method, target);
    EXPECT_EQ(res.result_int(), 503) << target;
    EXPECT_EQ(RawClient::json(res).at("code"), "Unavailable");
    message = std::string(RawClient::json(res).at("message").as_string());
    EXPECT_NE(message.find("EINVAL"), std::string::npos) << message;
  }

  // No snapshotter at all: the 404 says what to install.
  {
    std::lock_guard lock(mu_);
    entries_.clear();
  }
  res = req(http::verb::get, "/v1/snapshotters/overlayfs/snapshots");
  EXPECT_EQ(res.result_int(), 404);
  message = std::string(RawClient::json(res).at("message").as_string());
  EXPECT_NE(message.find("strata.snapshotter.v1"), std::string::npos) << message;
  EXPECT_EQ(RawClient::json(req(http::verb::get, "/v1/snapshotters")), json::array());
}

TEST_F(SnapshotRoutesTest, Cleanup) {
  auto res = req(http::verb::post, "/v1/snapshotters/fake/cleanup");
  EXPECT_EQ(res.result_int(), 501);
  EXPECT_EQ(RawClient::json(res).at("code"), "NotImplemented");
  fake_->set_cleanable();
  EXPECT_EQ(req(http::verb::post, "/v1/snapshotters/fake/cleanup").result_int(), 204);
  EXPECT_EQ(fake_->cleanups(), 1);
}

// ---- the `strata snapshots` commands (the binary in $STRATA_CLI) against these routes ----

struct CliRun {
  int rc = -1;
  std::string out;
  std::string err;
};

class SnapshotsCliTest : public SnapshotRoutesTest {
protected:
  void SetUp() override {
    SnapshotRoutesTest::SetUp();
    const char* exe = std::getenv("STRATA_CLI");
    if (!exe)
      GTEST_SKIP() << "STRATA_CLI is not set; run through `meson test`";
    exe_ = exe;
  }

  // `strata --address SOCKET snapshots --snapshotter fake ARGS...`; arguments are passed as they
  // are (no shell), so keys with spaces need no quoting.
  CliRun strata(std::vector<std::string> args, std::string snapshotter = "fake") {
    std::vector<std::string> argv{exe_,        "--address",     socket_path_,
                                  "snapshots", "--snapshotter", snapshotter};
    argv.insert(argv.end(), args.begin(), args.end());
    auto out_path = (dir_.path() / "out").string(), err_path = (dir_.path() / "err").string();
    CliRun r;
    pid_t pid = ::fork();
    if (pid == 0) {
      int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(out, 1);
      ::dup2(err, 2);
      std::vector<char*> cargs;
      for (auto& a : argv)
        cargs.push_back(a.data());
      cargs.push_back(nullptr);
      ::execv(cargs[0], cargs.data());
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.out = read_file(out_path);
    r.err = read_file(err_path);
    return r;
  }

  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string exe_;
};

std::string describe(const CliRun& r) {
  return "rc " + std::to_string(r.rc) + "\n" + r.out + r.err;
}

TEST_F(SnapshotsCliTest, Lifecycle) {
  auto r = strata({"prepare", "--label", "team=fs", "base"});
  ASSERT_EQ(r.rc, 0) << describe(r);
  EXPECT_EQ(r.out, "TYPE    SOURCE        TARGET    OPTIONS\n"
                   "bind    /fake/base    -         rw,rbind\n");
  r = strata({"commit", "--label", "layer=1", "layer", "base"});
  ASSERT_EQ(r.rc, 0) << describe(r);
  EXPECT_EQ(r.out, "layer\n");
  r = strata({"view", "--json", "look", "layer"});
  ASSERT_EQ(r.rc, 0) << describe(r);
  EXPECT_EQ(json::value_to<std::vector<Mount>>(json::parse(r.out))[0].options[0], "ro");
  ASSERT_EQ(strata({"prepare", "dir/work 1", "layer"}).rc, 0);

  r = strata({"ls"});
  ASSERT_EQ(r.rc, 0) << describe(r);
  auto lines = r.out;
  EXPECT_EQ(lines.substr(0, lines.find('\n')),
            "KEY           PARENT    KIND         AGE    LABELS");
  EXPECT_NE(lines.find("dir/work 1    layer     Active"), std::string::npos) << lines;
  // --json is the route's answer as it is.
  r = strata({"ls", "--json"});
  ASSERT_EQ(r.rc, 0) << describe(r);
  EXPECT_EQ(json::parse(r.out), RawClient::json(req(http::verb::get, path())));
  r = strata({"ls", "-q", "--filter", "kind==committed", "--filter", "kind==view"});
  EXPECT_EQ(r.out, "layer\nlook\n") << describe(r);
  EXPECT_EQ(fake_->walked_filters(), (std::vector<std::string>{"kind==committed", "kind==view"}));

  r = strata({"tree"});
  EXPECT_EQ(r.out, "layer\n \\_ dir/work 1\n \\_ look\n") << describe(r);

  r = strata({"stat", "dir/work 1"});
  ASSERT_EQ(r.rc, 0) << describe(r);
  EXPECT_NE(r.out.find("Name:    dir/work 1\nKind:    Active\nParent:  layer\n"), std::string::npos)
      << r.out;
  r = strata({"stat", "--json", "layer"});
  EXPECT_EQ(json::value_to<Info>(json::parse(r.out)).labels, (Labels{{"layer", "1"}}));

  r = strata({"mounts", "dir/work 1"});
  EXPECT_NE(r.out.find("/fake/dir/work 1"), std::string::npos) << describe(r);
  r = strata({"mounts", "layer"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("FailedPrecondition"), std::string::npos) << r.err;

  r = strata({"usage", "--json", "layer"});
  EXPECT_EQ(json::parse(r.out), (json::value{{"size", 5000}, {"inodes", 7}})) << describe(r);
  r = strata({"usage"});
  EXPECT_EQ(r.out, "KEY           SIZE       INODES\n"
                   "dir/work 1    9.8 KiB    7\n"
                   "layer         4.9 KiB    7\n"
                   "look          3.9 KiB    7\n")
      << describe(r);

  r = strata({"label", "layer", "layer=", "x=y"});
  EXPECT_EQ(r.out, "x=y\n") << describe(r);
  EXPECT_EQ(strata({"label", "layer", "novalue"}).rc, 2);

  // rm goes in order and reports each failure; exit 1 when any failed.
  r = strata({"rm", "layer", "look", "dir/work 1", "missing"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "look\ndir/work 1\n");
  EXPECT_NE(r.err.find("FailedPrecondition"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("NotFound"), std::string::npos) << r.err;
  r = strata({"rm", "layer"});
  EXPECT_EQ(r.rc, 0) << describe(r);
  EXPECT_EQ(strata({"ls", "-q"}).out, "");
}

TEST_F(SnapshotsCliTest, SnapshotterMissingOrBrokenAndCleanup) {
  auto r = strata({"ls"}, "nope");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("NotFound"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fake (ok)"), std::string::npos) << r.err;
  r = strata({"prepare", "x"}, "broken");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("Unavailable"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("EINVAL"), std::string::npos) << r.err;

  r = strata({"cleanup"});
  EXPECT_EQ(r.rc, 0) << describe(r);
  EXPECT_NE(r.err.find("nothing to clean up"), std::string::npos) << r.err;
  fake_->set_cleanable();
  r = strata({"cleanup"});
  EXPECT_EQ(r.rc, 0) << describe(r);
  EXPECT_EQ(fake_->cleanups(), 1);
}

TEST_F(SnapshotsCliTest, MountAndUnmount) {
  if (::geteuid() != 0)
    GTEST_SKIP() << "mounting needs root";
  // The fake's bind mount source is a real directory here, so the mount is real.
  auto sources = dir_.path() / "sources";
  std::filesystem::create_directories(sources / "work");
  std::ofstream(sources / "work" / "hello") << "from the snapshot\n";
  fake_->set_source_root(sources.string());
  ASSERT_EQ(strata({"prepare", "work"}).rc, 0);
  auto target = dir_.path() / "mnt";
  std::filesystem::create_directories(target);
  // Whatever fails below, nothing stays mounted in the temporary directory being removed.
  struct Detach {
    std::string path;
    ~Detach() { ::umount2(path.c_str(), MNT_DETACH); }
  } detach{target.string()};

  auto r = strata({"mount", "work", target.string()});
  ASSERT_EQ(r.rc, 0) << describe(r);
  EXPECT_EQ(read_file((target / "hello").string()), "from the snapshot\n");
  std::ofstream(target / "written") << "through the mount\n";
  r = strata({"unmount", target.string()});
  ASSERT_EQ(r.rc, 0) << describe(r);
  EXPECT_FALSE(std::filesystem::exists(target / "hello"));
  EXPECT_EQ(read_file((sources / "work" / "written").string()), "through the mount\n");

  r = strata({"mount", "missing", target.string()});
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("NotFound"), std::string::npos) << r.err;
  r = strata({"mount", "work", (dir_.path() / "no-such-dir").string()});
  EXPECT_EQ(r.rc, 2) << describe(r);
}

Info info(std::string name, std::string parent, Kind kind = Kind::Committed) {
  Info i;
  i.kind = kind;
  i.name = std::move(name);
  i.parent = std::move(parent);
  return i;
}

TEST(SnapshotFormat, Tree) {
  std::vector<Info> snapshots{info("work", "layer2", Kind::Active),
                              info("base", ""),
                              info("layer2", "base"),
                              info("other", ""),
                              info("look", "base", Kind::View),
                              info("orphan", "gone")};
  EXPECT_EQ(cli::snapshot_tree(snapshots), "base\n"
                                           " \\_ layer2\n"
                                           "    \\_ work\n"
                                           " \\_ look\n"
                                           "orphan [gone]\n"
                                           "other\n");
  // A parent cycle (only a broken snapshotter makes one) is printed once, not forever.
  EXPECT_EQ(cli::snapshot_tree({info("a", "b"), info("b", "a")}), "a [b]\n \\_ b\n");
  EXPECT_EQ(cli::snapshot_tree({}), "");
}

TEST(SnapshotFormat, Tables) {
  EXPECT_EQ(cli::mounts_table({Mount{"overlay", "overlay", "", {"lowerdir=/a:/b", "upperdir=/u"}},
                               Mount{"bind", "/src", "sub", {}}}),
            "TYPE       SOURCE     TARGET    OPTIONS\n"
            "overlay    overlay    -         lowerdir=/a:/b,upperdir=/u\n"
            "bind       /src       sub       -\n");
  EXPECT_EQ(cli::usage_table({{"a", Usage{1536, 3}}}), "KEY    SIZE       INODES\n"
                                                       "a      1.5 KiB    3\n");
  auto now = std::chrono::system_clock::now();
  Info i = info("k", "");
  i.created = now - 2h;
  i.labels = {{"x", "1"}};
  EXPECT_EQ(cli::snapshots_table({i}, now), "KEY    PARENT    KIND         AGE        LABELS\n"
                                            "k      -         Committed    2 hours    x=1\n");
  EXPECT_EQ(cli::snapshot_path("over lay", "a/b", "usage"),
            "/v1/snapshotters/over%20lay/snapshots/a%2Fb/usage");
}

} // namespace
} // namespace strata::test
