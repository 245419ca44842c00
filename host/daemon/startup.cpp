#include "daemon/startup.hpp"

#include "strata/registry/graph.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <sys/resource.h>

namespace strata::host {

std::vector<FileOutcome> load_plugins(const Config& cfg) {
  return load_plugin_dirs(cfg.plugin_dirs, registry::Registry::instance());
}

std::vector<std::pair<std::string, std::string>> plugin_defaults() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : registry::Registry::instance().entries())
    out.emplace_back(e.registration.uri(), e.registration.config_defaults);
  return out;
}

void initialise_plugins(const Config& cfg, const std::vector<FileOutcome>& outcomes,
                        std::chrono::milliseconds init_timeout, std::function<bool()> should_stop,
                        PluginSet& set) {
  std::set<std::string> disabled(cfg.disabled_plugins.begin(), cfg.disabled_plugins.end());
  auto nodes = registry::graph(registry::Registry::instance().entries(), disabled);
  PluginSetOptions options;
  options.root = cfg.root;
  options.state = cfg.state;
  options.address = cfg.api.address;
  options.init_timeout = init_timeout;
  options.should_stop = std::move(should_stop);
  options.config_for = [&cfg](const Registration& r) {
    return plugin_config(cfg, r.uri(), r.config_defaults);
  };
  set.initialise(nodes, options);
  set.add_file_failures(outcomes);
}

std::uint64_t raise_fd_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    spdlog::warn("stratad: cannot read RLIMIT_NOFILE: {}", std::strerror(errno));
    return 1024;
  }
  const rlim_t before = lim.rlim_cur;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
      spdlog::warn("stratad: cannot raise the open-file limit from {} to its hard limit {}: {}",
                   before, lim.rlim_max, std::strerror(errno));
      lim.rlim_cur = before;
    }
  }
  auto show = [](rlim_t v) {
    return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
  };
  spdlog::info("stratad: open-file limit {} (was {}, hard limit {})", show(lim.rlim_cur),
               show(before), show(lim.rlim_max));
  return lim.rlim_cur == RLIM_INFINITY ? UINT64_MAX : static_cast<std::uint64_t>(lim.rlim_cur);
}

std::uint64_t effective_max_connections(std::uint64_t configured, std::uint64_t fd_limit) {
  const std::uint64_t most = std::max<std::uint64_t>(fd_limit / 2, 1);
  if (configured <= most)
    return configured;
  spdlog::warn("stratad: serving at most {} connections, not {} ([api] max_connections): the "
               "open-file limit is {}; raise it (LimitNOFILE=) to serve more",
               most, configured, fd_limit);
  return most;
}

std::vector<std::string> required_plugin_problems(const Config& cfg, const PluginSet& set) {
  std::set<std::string> disabled(cfg.disabled_plugins.begin(), cfg.disabled_plugins.end());
  std::vector<std::string> problems;
  for (const auto& uri : cfg.required_plugins) {
    const PluginRecord* r = set.find(uri);
    if (disabled.count(uri)) {
      problems.push_back(fmt::format("required plugin {} is disabled in disabled_plugins; remove "
                                     "it from one of the two lists",
                                     uri));
    } else if (!r) {
      problems.push_back(fmt::format("required plugin {} is not loaded: no file in the plugin "
                                     "directories ({}) provides it",
                                     uri, fmt::join(cfg.plugin_dirs, ", ")));
    } else if (r->status != PluginStatus::Ok) {
      problems.push_back(fmt::format("required plugin {} {}: {}", uri,
                                     r->status == PluginStatus::Skip ? "was skipped" : "failed",
                                     r->reason));
    }
  }
  return problems;
}

} // namespace strata::host
