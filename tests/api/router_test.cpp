// Router, request decoding and responses, without sockets.

#include "api/router.hpp"

#include <gtest/gtest.h>

namespace strata::host::api {
namespace {

Request get(std::string target, http::verb method = http::verb::get, std::string body = {}) {
  auto r = make_request(method, target, {}, std::move(body));
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

Response named(std::string name) {
  return Response::json(json::object{{"route", std::move(name)}});
}

TEST(Uri, PercentDecode) {
  EXPECT_EQ(percent_decode("a%2Fb%20c", false), "a/b c");
  EXPECT_EQ(percent_decode("a+b", false), "a+b");
  EXPECT_EQ(percent_decode("a+b", true), "a b");
  EXPECT_EQ(percent_decode("%4", false), std::nullopt);
  EXPECT_EQ(percent_decode("%zz", false), std::nullopt);
  EXPECT_EQ(percent_decode("a%00b", false), std::nullopt);
  EXPECT_EQ(percent_decode("a%00b", true), std::nullopt);
  EXPECT_EQ(percent_decode("a%", false), std::nullopt);
  // Either case of hex digit; an encoded '+' is a '+' even where '+' means a space.
  EXPECT_EQ(percent_decode("%e2%82%AC%2b+", true), "\u20ac+ ");
  // Bytes outside RFC 3986's sets pass as they are: Beast admits them, clients send them.
  EXPECT_EQ(percent_decode("labels.\"a\"=={x|y}", true), "labels.\"a\"=={x|y}");
}

TEST(Uri, SplitPathKeepsEncodedSlashInSegment) {
  auto s = split_path("/v1/snapshotters/overlay/snapshots/a%2Fb/");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, (std::vector<std::string>{"v1", "snapshotters", "overlay", "snapshots", "a/b"}));
  EXPECT_FALSE(split_path("v1/x").ok());
  EXPECT_FALSE(split_path("/v1/%zz").ok());
  EXPECT_FALSE(split_path("/v1/a%00b").ok());
  EXPECT_EQ(split_path("/v1/a+b")->at(1), "a+b");
  EXPECT_TRUE(split_path("/")->empty());
}

TEST(Uri, ParseQuery) {
  auto q = parse_query("type=io.strata%2Fx&flag&a=1&a=2&x=y+z");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->at("type"), "io.strata/x");
  EXPECT_EQ(q->at("flag"), "");
  EXPECT_EQ(q->at("a"), "2");
  EXPECT_EQ(q->at("x"), "y z");
  EXPECT_FALSE(parse_query("a=%g0").ok());
  EXPECT_FALSE(parse_query("a%00=1").ok());
  EXPECT_FALSE(parse_query("a=1%00").ok());
  auto list = parse_query_list("filter=labels.%22a%22%3D%3Db&filter=x%2By&&filter");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*list, (QueryList{{"filter", "labels.\"a\"==b"}, {"filter", "x+y"}, {"filter", ""}}));
}

TEST(Request, QueryAndHeaders) {
  http::fields headers;
  headers.set("X-Test", "yes");
  auto r = make_request(http::verb::get, "/v1/plugins?type=snapshotter", headers, "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path, "/v1/plugins");
  EXPECT_EQ(r->query_param("type"), "snapshotter");
  EXPECT_EQ(r->query_param("id"), std::nullopt);
  EXPECT_EQ(r->header("x-test"), "yes");
  EXPECT_EQ(r->header("missing"), "");
  EXPECT_FALSE(make_request(http::verb::get, "/v1/x?a=%", {}, "").ok());
}

TEST(Request, JsonBody) {
  EXPECT_EQ(get("/x", http::verb::post, "").json_body().error().code(), Code::InvalidArgument);
  EXPECT_EQ(get("/x", http::verb::post, "{").json_body().error().code(), Code::InvalidArgument);
  EXPECT_EQ(*get("/x", http::verb::post, "[1]").json_body(), json::parse("[1]"));
}

TEST(Response, ErrorShape) {
  auto r = Response::error(not_found("snapshot \"k\" does not exist"));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body,
            json::parse(R"({"code":"NotFound","message":"snapshot \"k\" does not exist"})"));
  EXPECT_EQ(Response::error(already_exists("x")).status, 409);
  EXPECT_EQ(Response::from(Result<json::value>(json::value(1)), 201).status, 201);
  EXPECT_EQ(Response::from(Result<json::value>(unavailable("x"))).status, 503);
}

TEST(Response, StatusOfEachCode) {
  EXPECT_EQ(http_status(Code::NotFound), 404);
  EXPECT_EQ(http_status(Code::AlreadyExists), 409);
  EXPECT_EQ(http_status(Code::InvalidArgument), 400);
  EXPECT_EQ(http_status(Code::NotImplemented), 501);
  // Not a NotFound: a parallel unpack retries on the parent only for this one.
  EXPECT_EQ(http_status(Code::NeedsParent), 412);
}

TEST(Router, LiteralBeatsParameter) {
  Router router;
  router.add(http::verb::get, "/v1/images/{name}",
             [](const Request& r) { return named("name:" + std::string(r.param("name"))); });
  router.add(http::verb::get, "/v1/images/import", [](const Request&) { return named("import"); });
  auto a = get("/v1/images/import");
  EXPECT_EQ(router.dispatch(a).body.at("route"), "import");
  auto b = get("/v1/images/alpine%3Alatest");
  EXPECT_EQ(router.dispatch(b).body.at("route"), "name:alpine:latest");
  EXPECT_EQ(b.param("name"), "alpine:latest");
}

TEST(Router, ParameterDoesNotMatchEmptySegment) {
  Router router;
  router.add(http::verb::get, "/v1/items/{name}/x", [](const Request&) { return named("x"); });
  auto r = get("/v1/items//x");
  EXPECT_EQ(router.dispatch(r).status, 404);
}

TEST(Router, NotFoundNamesNearbyRoutes) {
  Router router;
  router.add(http::verb::get, "/v1/plugins", [](const Request&) { return named("p"); });
  router.add(http::verb::get, "/v1/snapshotters/{name}/snapshots",
             [](const Request&) { return named("s"); });
  router.add(http::verb::post, "/v1/snapshotters/{name}/snapshots/{key}/commit",
             [](const Request&) { return named("c"); });
  auto r = get("/v1/snapshotters/overlay/snapshot");
  auto res = router.dispatch(r);
  EXPECT_EQ(res.status, 404);
  std::string message(res.body.at("message").as_string());
  EXPECT_NE(message.find("no route for GET /v1/snapshotters/overlay/snapshot"), std::string::npos);
  EXPECT_NE(message.find("GET /v1/snapshotters/{name}/snapshots"), std::string::npos) << message;
  EXPECT_EQ(message.find("/v1/plugins"), std::string::npos) << message;
}

TEST(Router, MethodNotAllowedListsAllowed) {
  Router router;
  router.add(http::verb::get, "/v1/content/{digest}", [](const Request&) { return named("g"); });
  router.add(http::verb::delete_, "/v1/content/{digest}",
             [](const Request&) { return named("d"); });
  auto r = get("/v1/content/sha256:abc", http::verb::put);
  auto res = router.dispatch(r);
  EXPECT_EQ(res.status, 405);
  ASSERT_EQ(res.headers.size(), 1u);
  EXPECT_EQ(res.headers[0], (std::pair<std::string, std::string>{"Allow", "DELETE, GET"}));
}

TEST(Router, HandlerExceptionsBecome500) {
  Router router;
  router.add(http::verb::get, "/a",
             [](const Request&) -> Response { throw std::logic_error("x1"); });
  router.add(http::verb::get, "/b", [](const Request&) -> Response { throw 42; });
  auto a = get("/a");
  auto ra = router.dispatch(a);
  EXPECT_EQ(ra.status, 500);
  EXPECT_EQ(ra.body.at("code"), "Internal");
  EXPECT_NE(std::string(ra.body.at("message").as_string()).find("x1"), std::string::npos);
  auto b = get("/b");
  EXPECT_EQ(router.dispatch(b).status, 500);
}

TEST(Router, MalformedPathIs400) {
  Router router;
  add_health_route(router);
  auto r = get("/v1/%zz");
  auto res = router.dispatch(r);
  EXPECT_EQ(res.status, 400);
  EXPECT_EQ(res.body.at("code"), "InvalidArgument");
  EXPECT_NE(std::string(res.body.at("message").as_string()).find("malformed percent-escape"),
            std::string::npos);
  auto nul = get("/v1/a%00b");
  EXPECT_EQ(router.dispatch(nul).status, 400);
}

TEST(Router, RejectsBadPatternsAndDuplicates) {
  Router router;
  auto h = [](const Request&) { return named("x"); };
  EXPECT_THROW(router.add(http::verb::get, "v1/x", h), std::invalid_argument);
  EXPECT_THROW(router.add(http::verb::get, "/v1/{}", h), std::invalid_argument);
  EXPECT_THROW(router.add(http::verb::get, "/v1/a{b}", h), std::invalid_argument);
  router.add(http::verb::get, "/v1/x", h);
  EXPECT_THROW(router.add(http::verb::get, "/v1/x", h), std::invalid_argument);
  router.add(http::verb::post, "/v1/x", h);
  EXPECT_EQ(router.routes(), (std::vector<std::string>{"GET /v1/x", "POST /v1/x"}));
}

TEST(Health, AnswersOk) {
  Router router;
  add_health_route(router);
  auto r = get("/v1/health");
  auto res = router.dispatch(r);
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, json::parse(R"({"status":"ok"})"));
}

} // namespace
} // namespace strata::host::api
