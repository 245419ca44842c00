// strata-snapshotter-conformance: the conformance cases against a snapshotter plugin file,
// loaded the way stratad loads it (host/loader: file checks, ABI handshake, registration;
// host/daemon PluginSet: the config section merged over the plugin's defaults, init on its own
// thread with root/state directories, meta). Every case gets a new instance from the plugin's
// init on a fresh root. See README.md.

#include "conformance.hpp"
#include "support.hpp"

#include "config/config.hpp"
#include "daemon/plugin_set.hpp"
#include "loader/loader.hpp"
#include "strata/plugin/types.hpp"
#include "strata/registry/graph.hpp"
#include "strata/registry/registry.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace strata;

constexpr const char* usage_text =
    R"(usage: strata-snapshotter-conformance --plugin FILE.so [--id ID] [--config FILE.toml]
                                     [--no-reopen] [--gtest_filter=...] [other GoogleTest flags]

Runs the strata snapshotter conformance cases against the snapshotter plugin in FILE.so, loaded
as stratad loads it. Needs root (the cases mount snapshots).

  --plugin FILE.so     the plugin file (also: $STRATA_CONFORMANCE_PLUGIN)
  --id ID              fail unless the file's plugin has this id (also: $STRATA_CONFORMANCE_ID)
  --config FILE.toml   a stratad config file; its [plugins."strata.snapshotter.v1.<id>"] section
                       configures every instance (also: $STRATA_CONFORMANCE_CONFIG)
  --no-reopen          the snapshotter keeps nothing across close (in memory): skip the
                       persistence case (also: $STRATA_CONFORMANCE_NO_REOPEN=1)
  $STRATA_CONFORMANCE_TMPDIR   where scratch roots go (default /var/tmp)

Exit status: 0 all cases passed or skipped, 1 a case failed, 2 the plugin could not be loaded.
)";

struct Args {
  std::string plugin, id, config;
  bool reopen = true;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Takes our flags out of argv so that GoogleTest sees only its own.
std::optional<Args> parse(int& argc, char** argv) {
  Args a{env("STRATA_CONFORMANCE_PLUGIN"), env("STRATA_CONFORMANCE_ID"),
         env("STRATA_CONFORMANCE_CONFIG"), env("STRATA_CONFORMANCE_NO_REOPEN") != "1"};
  int out = 1;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&](const std::string& flag, std::string& into) {
      if (arg == flag) {
        if (i + 1 >= argc)
          return false;
        into = argv[++i];
        return true;
      }
      if (arg.starts_with(flag + "=")) {
        into = arg.substr(flag.size() + 1);
        return true;
      }
      return false;
    };
    if (arg == "-h" || arg == "--help") {
      std::fputs(usage_text, stdout);
      std::exit(0);
    }
    if (arg == "--no-reopen") {
      a.reopen = false;
      continue;
    }
    if (value("--plugin", a.plugin) || value("--id", a.id) || value("--config", a.config))
      continue;
    argv[out++] = argv[i];
  }
  argc = out;
  argv[argc] = nullptr;
  if (a.plugin.empty())
    return std::nullopt;
  return a;
}

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "strata-snapshotter-conformance: %s\n", message.c_str());
  std::exit(2);
}

// One plugin instance from `entry`'s init, as stratad would make it with config root `root`
// (the plugin's own root is then <root>/<uri>) and state <root>.state.
struct Initialised {
  PluginRecord record;
  std::shared_ptr<Instance> instance;
};
Initialised initialise(const registry::Entry& entry, const host::Config& cfg,
                       const std::string& root) {
  host::PluginSetOptions options;
  options.root = root;
  options.state = root + ".state";
  options.address = ""; // no API server runs here
  options.config_for = [&cfg](const Registration& r) {
    return host::plugin_config(cfg, r.uri(), r.config_defaults);
  };
  // Only this plugin: one that requires others gets the graph's error naming what is missing.
  auto nodes = registry::graph({entry}, {});
  host::PluginSet set;
  set.initialise(nodes, options);
  const std::string uri = entry.registration.uri();
  Initialised out;
  if (const PluginRecord* r = set.find(uri))
    out.record = *r;
  out.instance = set.instance(uri);
  return out;
}

} // namespace

int main(int argc, char** argv) {
  auto args = parse(argc, argv);
  if (!args) {
    std::fputs(usage_text, stderr);
    return 2;
  }
  // The daemon's log lines (plugin loaded, ...) would drown the test output; problems still show.
  spdlog::set_level(spdlog::level::warn);

  const std::string path = std::filesystem::absolute(args->plugin).string();
  host::FileOutcome outcome = host::load_plugin_file(path, registry::Registry::instance());
  if (outcome.error)
    die(path + " was refused: " + outcome.error->to_string());
  const std::string uri = outcome.type + "." + outcome.id;
  if (outcome.type != plugin_type::snapshotter)
    die(path + " holds plugin " + uri + ", not a " + plugin_type::snapshotter + " plugin");
  if (!args->id.empty() && args->id != outcome.id)
    die(path + " holds plugin " + uri + ", not the requested id \"" + args->id + "\"");
  std::optional<registry::Entry> entry;
  for (const auto& e : registry::Registry::instance().entries())
    if (e.origin == path && e.registration.uri() == uri)
      entry = e;
  if (!entry)
    die(path + ": registration of " + uri + " not found after loading");

  host::Config cfg;
  if (!args->config.empty()) {
    auto loaded = host::load_config(args->config);
    if (!loaded)
      die("config " + args->config + ": " + loaded.error().to_string());
    cfg = std::move(*loaded);
  }
  // Checked once up front, so that a bad section is one clear message rather than every case
  // failing in its factory.
  if (auto section = host::plugin_config(cfg, uri, entry->registration.config_defaults); !section)
    die("config section of " + uri + ": " + section.error().to_string());

  conformance::Description d;
  d.name = outcome.id;
  d.reopen = args->reopen;
  {
    // One init up front learns the capabilities from the plugin's meta, and whether it skips
    // here (then every case skips with its reason, as stratad would show it).
    conformance::Scratch probe;
    if (!probe.error().empty())
      die(probe.error());
    Initialised first = initialise(*entry, cfg, probe.path() + "/root");
    if (first.record.status == PluginStatus::Skip) {
      d.skip_reason = "plugin " + uri + " skipped at init: " + first.record.reason;
    } else if (first.record.status != PluginStatus::Ok) {
      die("plugin " + uri + " failed at init: " + first.record.error_code + ": " +
          first.record.reason);
    } else if (!std::dynamic_pointer_cast<Snapshotter>(first.instance)) {
      die("plugin " + uri + "'s init returned an instance that is not a strata::Snapshotter");
    } else {
      for (const auto& c : first.record.meta.capabilities)
        d.capabilities.insert(c);
      if (auto st = first.instance->close(); !st)
        die("plugin " + uri + ": close after the first init: " + st.error().to_string());
    }
  }
  d.factory = [entry = *entry, cfg,
               uri](const std::string& root) -> Result<std::shared_ptr<Snapshotter>> {
    Initialised i = initialise(entry, cfg, root);
    if (i.record.status != PluginStatus::Ok) {
      auto code = parse_code(i.record.error_code).value_or(Code::Unavailable);
      return Error(code == Code::Ok ? Code::Unavailable : code,
                   "plugin " + uri + " " + std::string(to_string(i.record.status)) +
                       " at init: " + i.record.reason);
    }
    auto s = std::dynamic_pointer_cast<Snapshotter>(i.instance);
    if (!s)
      return Error(Code::Internal, "plugin " + uri + " is not a strata::Snapshotter");
    return s;
  };
  std::printf("conformance: %s from %s, capabilities:", uri.c_str(), path.c_str());
  for (const auto& c : d.capabilities)
    std::printf(" %s", c.c_str());
  std::printf("%s\n", d.capabilities.empty() ? " (none)" : "");
  conformance::add_snapshotter(std::move(d));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS() == 0 ? 0 : 1;
}
