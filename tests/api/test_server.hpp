#pragma once
// A running API server on a socket in a fresh temporary directory, with a test router, served
// by several threads like the daemon does.

#include "api/server.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace strata::test {

/// A directory under /tmp removed with everything in it at the end of the test. Kept short
/// because unix socket paths are limited to 107 bytes.
class TempDir {
public:
  TempDir() {
    std::string tmpl = "/tmp/strata-api-XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

private:
  std::filesystem::path path_;
};

/// Waits for `cond`, polling; false after `limit`. A bound so a broken server fails the test
/// instead of hanging it, never a timing assertion.
template <class F> bool eventually(F cond, std::chrono::seconds limit = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

/// The routes the server tests use.
inline host::api::Router test_router() {
  using namespace host::api;
  Router r;
  add_health_route(r);
  r.add(http::verb::get, "/v1/hello", [](const Request&) {
    return Response::json(json::object{{"hello", "world"}});
  });
  r.add(http::verb::post, "/v1/echo", [](const Request& req) {
    auto body = req.json_body();
    if (!body)
      return Response::error(body.error());
    return Response::json(*body);
  });
  r.add(http::verb::get, "/v1/throw",
        [](const Request&) -> Response { throw std::runtime_error("boom"); });
  r.add(http::verb::get, "/v1/items/{name}", [](const Request& req) {
    return Response::json(json::object{{"name", req.param("name")}});
  });
  return r;
}

/// Runs an io_context on `threads` threads until destroyed.
class IoThreads {
public:
  explicit IoThreads(unsigned threads = 4) : work_(io_.get_executor()) {
    for (unsigned i = 0; i < threads; ++i)
      threads_.emplace_back([this] { io_.run(); });
  }
  ~IoThreads() {
    work_.reset();
    io_.stop();
    for (auto& t : threads_)
      t.join();
  }
  boost::asio::io_context& io() { return io_; }

private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

} // namespace strata::test
