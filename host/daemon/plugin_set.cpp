#include "daemon/plugin_set.hpp"

#include "daemon/init_context.hpp"
#include "daemon/plugin_logger.hpp"

#include <strata/plugin/try.hpp>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <future>
#include <optional>
#include <thread>

namespace strata::host {
namespace {

// Ties an instance to the library its code lives in: the library reference is released only
// after the instance, whoever holds the last copy.
std::shared_ptr<Instance> hold_library(std::shared_ptr<Instance> instance,
                                       std::shared_ptr<void> library) {
  struct Holder {
    std::shared_ptr<void> library;      // destroyed second
    std::shared_ptr<Instance> instance; // destroyed first
  };
  auto holder = std::make_shared<Holder>(Holder{std::move(library), std::move(instance)});
  Instance* raw = holder->instance.get();
  return std::shared_ptr<Instance>(std::move(holder), raw);
}

struct InitOutput {
  InitResult outcome;
  Meta meta;
};

// Runs init on its own thread so that a plugin stuck in init cannot hang startup. On timeout
// the thread is detached with shared ownership of everything it touches.
Result<InitOutput> run_init(const InitFn& init, std::shared_ptr<HostInitContext> ic,
                            std::chrono::milliseconds timeout,
                            const std::function<bool()>& should_stop) {
  struct Call {
    std::optional<InitResult> result;
    std::promise<void> done;
  };
  auto call = std::make_shared<Call>();
  auto done = call->done.get_future();
  std::thread worker([call, ic, init] {
    try {
      call->result.emplace(init(*ic));
    } catch (const std::exception& e) {
      call->result.emplace(internal_error(std::string("init threw an exception: ") + e.what()));
    } catch (...) {
      call->result.emplace(internal_error("init threw a non-standard exception"));
    }
    call->done.set_value();
  });
  constexpr auto poll = std::chrono::milliseconds(50);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (done.wait_for(std::min<std::chrono::steady_clock::duration>(
             poll, deadline - std::chrono::steady_clock::now())) != std::future_status::ready) {
    if (should_stop && should_stop()) {
      worker.detach();
      return Error(Code::Cancelled, "startup was interrupted by a signal while init was running");
    }
    if (std::chrono::steady_clock::now() < deadline)
      continue;
    worker.detach();
    return Error(Code::DeadlineExceeded,
                 fmt::format("init did not return within {} ms; the plugin was abandoned (its "
                             "thread keeps running) and is not available",
                             timeout.count()));
  }
  worker.join();
  return InitOutput{std::move(*call->result), ic->meta()};
}

PluginRecord base_record(const registry::Entry& e) {
  PluginRecord r;
  r.type = e.registration.type;
  r.id = e.registration.id;
  r.version = e.registration.version;
  r.requires_list = e.registration.requires_list;
  r.file = e.origin;
  return r;
}

} // namespace

void PluginSet::add_file_failures(const std::vector<FileOutcome>& outcomes) {
  for (const auto& o : outcomes) {
    if (!o.error)
      continue;
    PluginRecord r;
    r.type = o.type;
    r.id = o.id.empty() ? std::filesystem::path(o.path).filename().string() : o.id;
    r.version = o.version;
    r.requires_list = o.requires_list;
    r.status = PluginStatus::Error;
    r.reason = o.error->message();
    r.error_code = std::string(to_string(o.error->code()));
    r.file = o.path;
    spdlog::warn("plugin file {} not loaded: {}", o.path, o.error->message());
    file_failures_.push_back(std::move(r));
  }
}

PluginSet::Slot* PluginSet::slot(const std::string& uri) {
  auto it = index_.find(uri);
  return it == index_.end() ? nullptr : &slots_[it->second];
}

void PluginSet::initialise(const std::vector<registry::Node>& nodes,
                           const PluginSetOptions& options) {
  for (const auto& node : nodes) {
    if (options.should_stop && options.should_stop())
      return;
    init_one(node, options);
  }
}

void PluginSet::init_one(const registry::Node& node, const PluginSetOptions& options) {
  const auto& reg = node.entry.registration;
  const std::string uri = reg.uri();
  Slot s;
  s.record = base_record(node.entry);

  auto fail = [&](Code code, std::string reason, std::string root_cause) {
    s.record.status = PluginStatus::Error;
    s.record.error_code = std::string(to_string(code));
    s.record.reason = std::move(reason);
    s.root_cause = std::move(root_cause);
    spdlog::warn("plugin {} (from {}) failed: {}", uri, node.entry.origin, s.record.reason);
  };
  auto skip = [&](std::string reason, std::string root_cause) {
    s.record.status = PluginStatus::Skip;
    s.record.reason = std::move(reason);
    s.root_cause = std::move(root_cause);
    spdlog::info("plugin {} (from {}) skipped: {}", uri, node.entry.origin, s.record.reason);
  };
  auto finish = [&] {
    index_[uri] = slots_.size();
    slots_.push_back(std::move(s));
  };

  if (node.problem) {
    fail(node.problem->code(), node.problem->message(), uri + ": " + node.problem->message());
    return finish();
  }
  for (const auto& dep : node.hard_dependencies) {
    Slot* d = slot(dep);
    if (d && d->record.status == PluginStatus::Ok)
      continue;
    std::string root = d ? d->root_cause : dep + ": not initialised";
    if (d && d->record.status == PluginStatus::Skip) {
      skip(fmt::format("dependency {} was skipped (root cause: {})", dep, root), root);
    } else {
      fail(Code::FailedPrecondition,
           fmt::format("dependency {} failed (root cause: {})", dep, root), root);
    }
    return finish();
  }

  json::object config;
  if (options.config_for) {
    auto c = options.config_for(reg);
    if (!c) {
      fail(c.error().code(), c.error().message(), uri + ": " + c.error().message());
      return finish();
    }
    config = std::move(*c);
  }
  const std::string root = (std::filesystem::path(options.root) / uri).string();
  const std::string state = (std::filesystem::path(options.state) / uri).string();
  std::map<std::string, std::string> props = {
      {property::root, root}, {property::state, state}, {property::address, options.address}};
  DependencyLookup lookup;
  lookup.by_uri = [this](const std::string& u) { return get(u); };
  lookup.meta_by_uri = [lookup_instance = lookup.by_uri,
                        this](const std::string& u) -> Result<Meta> {
    STRATA_TRY(lookup_instance(u));
    return slot(u)->record.meta;
  };
  lookup.by_type = [this](const std::string& type) {
    std::vector<std::pair<std::string, std::shared_ptr<Instance>>> out;
    for (const auto& d : slots_)
      if (d.record.type == type && d.record.status == PluginStatus::Ok)
        out.emplace_back(d.record.id, d.instance);
    return out;
  };
  auto ic = std::make_shared<HostInitContext>(
      uri, root, state, std::move(config), std::move(props),
      std::set<std::string>(node.dependencies.begin(), node.dependencies.end()), std::move(lookup),
      plugin_logger(uri, spdlog::default_logger()));

  spdlog::debug("initialising plugin {}", uri);
  auto result = run_init(reg.init, std::move(ic), options.init_timeout, options.should_stop);
  if (!result) {
    fail(result.error().code(), result.error().message(), uri + ": " + result.error().message());
  } else if (result->outcome.skipped()) {
    skip(result->outcome.skip_reason(), uri + ": " + result->outcome.skip_reason());
  } else if (result->outcome.failed()) {
    fail(result->outcome.error().code(), result->outcome.error().message(),
         uri + ": " + result->outcome.error().message());
  } else if (!result->outcome.instance()) {
    fail(Code::Internal, "init returned success without an instance",
         uri + ": init returned no instance");
  } else {
    s.record.status = PluginStatus::Ok;
    s.record.meta = result->meta;
    s.instance = hold_library(result->outcome.instance(), node.entry.library);
    spdlog::info("plugin {} loaded from {}", uri, node.entry.origin);
  }
  finish();
}

std::vector<PluginRecord> PluginSet::records() const {
  std::vector<PluginRecord> out;
  out.reserve(slots_.size() + file_failures_.size());
  for (const auto& s : slots_)
    out.push_back(s.record);
  out.insert(out.end(), file_failures_.begin(), file_failures_.end());
  return out;
}

const PluginRecord* PluginSet::find(const std::string& uri) const {
  if (auto it = index_.find(uri); it != index_.end())
    return &slots_[it->second].record;
  for (const auto& f : file_failures_)
    if (f.uri() == uri)
      return &f;
  return nullptr;
}

std::shared_ptr<Instance> PluginSet::instance(const std::string& uri) const {
  auto it = index_.find(uri);
  return it == index_.end() ? nullptr : slots_[it->second].instance;
}

Result<std::shared_ptr<Instance>> PluginSet::get(const std::string& uri) const {
  const PluginRecord* r = find(uri);
  if (!r)
    return not_found("plugin " + uri + " is not registered");
  if (r->status != PluginStatus::Ok)
    return failed_precondition("plugin " + uri + " is not available (" +
                               std::string(to_string(r->status)) + ": " + r->reason + ")");
  return instance(uri);
}

Error route_error(const Error& e) {
  switch (e.code()) {
  case Code::FailedPrecondition:
    return unavailable(e.message() + "; see `strata plugins ls --detailed`");
  case Code::InvalidArgument:
    return internal_error(e.message());
  default:
    return e;
  }
}

std::vector<std::string> PluginSet::uris_of(const std::string& type) const {
  std::vector<std::string> out;
  for (const auto& s : slots_)
    if (s.record.type == type)
      out.push_back(s.record.uri());
  for (const auto& f : file_failures_)
    if (f.type == type)
      out.push_back(f.uri());
  return out;
}

void PluginSet::close_all() {
  for (auto it = slots_.rbegin(); it != slots_.rend(); ++it) {
    if (!it->instance)
      continue;
    const std::string uri = it->record.uri();
    try {
      if (auto st = it->instance->close(); !st)
        spdlog::warn("plugin {} close: {}", uri, st.error().to_string());
      else
        spdlog::debug("plugin {} closed", uri);
    } catch (const std::exception& e) {
      spdlog::warn("plugin {} close threw: {}", uri, e.what());
    }
    it->instance.reset();
  }
}

} // namespace strata::host
