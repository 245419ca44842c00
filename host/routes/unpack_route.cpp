#include "routes/unpack_route.hpp"

#include <strata/plugin/try.hpp>

#include <fmt/format.h>

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

namespace strata::host {
namespace {

using api::Request;
using api::Response;

constexpr std::string_view unpack_shape =
    R"({"snapshotter"?: "overlayfs", "parallel"?: true, "syncFs"?: false, "progress"?: false})";

struct UnpackRequest {
  UnpackOptions options;
  bool progress = false;
};

Result<UnpackRequest> parse(const Request& req) {
  UnpackRequest out;
  out.options.snapshotter = "overlayfs";
  if (req.body.empty())
    return out;
  auto body = req.json_body();
  if (!body)
    return std::move(body).error();
  const auto* o = body->if_object();
  if (!o)
    return invalid_argument(fmt::format("the unpack request body must be {}", unpack_shape));
  for (const auto& [key, value] : *o) {
    if (key == "snapshotter" && value.is_string() && !value.as_string().empty())
      out.options.snapshotter = std::string(value.as_string());
    else if (key == "parallel" && value.is_bool())
      out.options.parallel = value.as_bool();
    else if (key == "syncFs" && value.is_bool())
      out.options.sync_fs = value.as_bool();
    else if (key == "progress" && value.is_bool())
      out.progress = value.as_bool();
    else
      return invalid_argument(fmt::format("unpack request: field \"{}\" = {} is not one of {}",
                                          std::string_view(key), json::serialize(value),
                                          unpack_shape));
  }
  return out;
}

// Lines of NDJSON produced by an unpack on its own thread and pulled by the response body. The
// object joins the thread when the body is done with it, so an unpack always runs to its end
// (a client that hangs up does not leave layers half-applied: the unpack cleans up after itself
// as it would after any failure, or finishes).
class ProgressStream {
public:
  ProgressStream(std::shared_ptr<ImageService> images, std::string name, UnpackOptions opts) {
    opts.progress = [this](const UnpackProgress& p) {
      push(json::serialize(json::object{{"progress", json::value_from(p)}}));
    };
    thread_ = std::thread(
        [this, images = std::move(images), name = std::move(name), opts = std::move(opts)] {
          auto result = images->unpack(name, opts);
          json::object last;
          if (result)
            last["result"] = json::value_from(*result);
          else
            last["error"] = Response::error_body(result.error());
          push(json::serialize(last));
          std::lock_guard lock(mu_);
          finished_ = true;
          ready_.notify_all();
        });
  }
  ~ProgressStream() { thread_.join(); }

  Result<std::size_t> read(std::span<std::byte> buf) {
    std::unique_lock lock(mu_);
    ready_.wait(lock, [this] { return !pending_.empty() || finished_; });
    std::size_t n = 0;
    while (!pending_.empty() && n < buf.size()) {
      auto& line = pending_.front();
      std::size_t take = std::min(buf.size() - n, line.size() - offset_);
      std::memcpy(buf.data() + n, line.data() + offset_, take);
      n += take;
      offset_ += take;
      if (offset_ == line.size()) {
        pending_.pop_front();
        offset_ = 0;
      }
    }
    return n;
  }

private:
  void push(std::string line) {
    line += '\n';
    std::lock_guard lock(mu_);
    pending_.push_back(std::move(line));
    ready_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::string> pending_;
  std::size_t offset_ = 0;
  bool finished_ = false;
  std::thread thread_; // last: started once everything it uses exists
};

} // namespace

api::Handler unpack_route(std::function<Result<std::shared_ptr<ImageService>>()> images) {
  return [images = std::move(images)](const Request& req) {
    auto service = images();
    if (!service)
      return Response::error(service.error());
    auto parsed = parse(req);
    if (!parsed)
      return Response::error(parsed.error());
    std::string name(req.param("name"));
    if (!parsed->progress)
      return Response::from([&]() -> Result<json::value> {
        STRATA_TRY_ASSIGN(auto result, (*service)->unpack(name, parsed->options));
        return json::value_from(result);
      }());
    auto stream = std::make_shared<ProgressStream>(std::move(*service), std::move(name),
                                                   std::move(parsed->options));
    return Response::streamed([stream](std::span<std::byte> buf) { return stream->read(buf); },
                              std::nullopt, "application/x-ndjson");
  };
}

} // namespace strata::host
