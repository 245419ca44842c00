#include "daemon/daemon.hpp"

#include "api/server.hpp"
#include "daemon/startup.hpp"
#include "routes/content_routes.hpp"
#include "routes/diff_routes.hpp"
#include "routes/image_routes.hpp"
#include "routes/plugin_routes.hpp"
#include "routes/snapshot_routes.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

namespace strata::host {
namespace fs = std::filesystem;

namespace {

constexpr unsigned api_threads = 2;

std::string absolute(const std::string& p) {
  return fs::absolute(p).lexically_normal().string();
}

// The host creates its own root and state (plugins create their subdirectories).
Status make_dir(const std::string& path, fs::perms mode, const char* what) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec)
    return Error(Code::PermissionDenied,
                 fmt::format("cannot create {} directory {}: {}", what, path, ec.message()));
  fs::permissions(path, mode, ec);
  if (ec)
    return Error(Code::PermissionDenied,
                 fmt::format("cannot set mode of {} directory {}: {}", what, path, ec.message()));
  return {};
}

void report(const Error& e) {
  std::cerr << "stratad: " << e.message() << "\n";
}

// Until the API loop runs (and asio takes the signals over), SIGINT/SIGTERM only set this flag,
// which plugin initialisation polls: a stop during a slow startup closes what was initialised
// and exits cleanly instead of dying with the default action.
std::atomic<bool> stop_requested{false};
extern "C" void on_startup_signal(int) {
  stop_requested.store(true);
}

void catch_startup_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_startup_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

} // namespace

Result<Config> effective_config(const DaemonOptions& options) {
  auto cfg = load_config(options.config_path);
  if (!cfg)
    return cfg;
  if (options.root)
    cfg->root = absolute(*options.root);
  if (options.state)
    cfg->state = absolute(*options.state);
  if (options.address)
    cfg->api.address = absolute(*options.address);
  if (!options.plugin_dirs.empty()) {
    cfg->plugin_dirs.clear();
    for (const auto& d : options.plugin_dirs)
      cfg->plugin_dirs.push_back(absolute(d));
  }
  if (cfg->root == cfg->state)
    return invalid_argument(fmt::format("root and state are both {}; they must differ", cfg->root));
  return cfg;
}

int run_daemon(const DaemonOptions& options) {
  auto cfg = effective_config(options);
  if (!cfg) {
    report(cfg.error());
    return 1;
  }
  spdlog::info("stratad starting: config {}, root {}, state {}", cfg->source, cfg->root,
               cfg->state);
  // Before plugins open anything: deep trees and many clients need more than 1,024 fds.
  const std::uint64_t fd_limit = raise_fd_limit();
  for (auto [dir, mode, what] : {std::tuple{cfg->root, fs::perms::owner_all, "root"},
                                 std::tuple{cfg->state, fs::perms(0711), "state"}}) {
    if (auto st = make_dir(dir, mode, what); !st) {
      report(st.error());
      return 1;
    }
  }

  catch_startup_signals();
  auto outcomes = load_plugins(*cfg);
  PluginSet plugins;
  initialise_plugins(
      *cfg, outcomes,
      std::chrono::milliseconds(static_cast<long long>(options.plugin_init_timeout_seconds * 1000)),
      [] { return stop_requested.load(); }, plugins);
  if (stop_requested.load()) {
    spdlog::info("stratad: stop signal during startup; closing initialised plugins");
    plugins.close_all();
    return 0;
  }

  if (auto problems = required_plugin_problems(*cfg, plugins); !problems.empty()) {
    for (const auto& p : problems)
      spdlog::error("{}", p);
    std::cerr << "stratad: not starting: " << problems.size()
              << " required plugin(s) not ok (see required_plugins in " << cfg->source << ")\n";
    plugins.close_all();
    return 1;
  }

  boost::asio::io_context io;
  api::Router router;
  api::add_health_route(router);
  add_plugin_routes(router, plugins);
  add_content_routes(router, plugins);
  add_diff_routes(router, plugins);
  add_image_routes(router, plugins);
  add_snapshot_routes(router, plugins);
  api::ServerOptions server_options;
  server_options.socket_path = cfg->api.address;
  server_options.max_body_bytes = cfg->api.max_body_bytes;
  server_options.max_connections = effective_max_connections(cfg->api.max_connections, fd_limit);
  server_options.max_streams = cfg->api.max_streams;
  server_options.max_streams_per_client = cfg->api.max_streams_per_client;
  server_options.min_transfer_bytes = cfg->api.min_transfer_bytes;
  server_options.transfer_window = std::chrono::seconds(cfg->api.transfer_window_seconds);
  server_options.workers = cfg->api.workers;
  api::Server server(io, router, server_options);
  if (auto st = server.start(); !st) {
    report(st.error());
    plugins.close_all();
    return 1;
  }

  // A signal stops the server (no new connections, socket removed) and the io loop; handlers
  // already running finish before the threads are joined and plugins are closed.
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec)
      return;
    spdlog::info("stratad: signal {} received, stopping", sig);
    server.stop();
    io.stop();
  });
  if (stop_requested.load()) // a signal between startup and the signal_set taking over
    io.stop();

  std::size_t ok = 0, skipped = 0, failed = 0;
  for (const auto& r : plugins.records())
    (r.status == PluginStatus::Ok ? ok : r.status == PluginStatus::Skip ? skipped : failed)++;
  spdlog::info("stratad ready on {} ({} plugins ok, {} skipped, {} failed)", cfg->api.address, ok,
               skipped, failed);

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < api_threads; ++i)
    threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : threads)
    t.join();

  plugins.close_all();
  spdlog::info("stratad stopped");
  return 0;
}

int config_default(const DaemonOptions& options) {
  // Plugin defaults come from the plugins themselves, so the plugin directories (from the
  // command line, else the embedded defaults) are loaded, but nothing is initialised.
  auto cfg = parse_config(embedded_default_config(), "<embedded defaults>");
  if (!cfg) {
    report(cfg.error());
    return 1;
  }
  if (!options.plugin_dirs.empty()) {
    cfg->plugin_dirs.clear();
    for (const auto& d : options.plugin_dirs)
      cfg->plugin_dirs.push_back(absolute(d));
  }
  load_plugins(*cfg);
  std::cout << dump_config(*cfg, plugin_defaults());
  return 0;
}

int config_dump(const DaemonOptions& options) {
  auto cfg = effective_config(options);
  if (!cfg) {
    report(cfg.error());
    return 1;
  }
  load_plugins(*cfg);
  std::cout << dump_config(*cfg, plugin_defaults());
  return 0;
}

int config_check(const DaemonOptions& options) {
  auto cfg = effective_config(options);
  if (!cfg) {
    report(cfg.error());
    return 1;
  }
  auto outcomes = load_plugins(*cfg);
  int errors = 0;
  for (const auto& o : outcomes)
    if (o.error)
      spdlog::warn("{}", o.error->message());
  std::set<std::string> known;
  for (const auto& e : registry::Registry::instance().entries()) {
    known.insert(e.registration.uri());
    if (auto c = plugin_config(*cfg, e.registration.uri(), e.registration.config_defaults); !c) {
      std::cerr << "stratad: " << c.error().message() << "\n";
      ++errors;
    }
  }
  for (const auto& [uri, section] : cfg->plugins)
    if (!known.count(uri))
      spdlog::warn("{}: [plugins.\"{}\"] configures a plugin that is not loaded", section.file,
                   uri);
  if (errors) {
    std::cerr << "stratad: " << cfg->source << ": " << errors << " error(s)\n";
    return 1;
  }
  std::cout << cfg->source << ": ok\n";
  return 0;
}

} // namespace strata::host
