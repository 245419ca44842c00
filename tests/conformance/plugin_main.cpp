// strata-snapshotter-conformance: the conformance cases against a snapshotter plugin file,
// loaded the way stratad loads it (host/loader: file checks, ABI handshake, registration;
// registry graph; host/daemon PluginSet: the config section merged over the plugin's defaults,
// init on its own thread with root/state directories, meta). The plugins it requires are loaded
// from --plugin-dir and initialised first, in dependency order, as stratad would. Every case gets
// a new instance of the plugin and of what it requires, on a fresh root. See README.md.

#include "conformance.hpp"
#include "support.hpp"

#include "config/config.hpp"
#include "daemon/plugin_set.hpp"
#include "loader/loader.hpp"
#include "record/plugin_record.hpp"
#include "strata/plugin/types.hpp"
#include "strata/registry/graph.hpp"
#include "strata/registry/registry.hpp"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace strata;
using host::PluginRecord;
using host::PluginStatus;

constexpr const char* usage_text =
    R"(usage: strata-snapshotter-conformance --plugin FILE.so [--id ID] [--config FILE.toml]
                                     [--plugin-dir DIR]... [--no-reopen]
                                     [--gtest_filter=...] [other GoogleTest flags]

Runs the strata snapshotter conformance cases against the snapshotter plugin in FILE.so, loaded
as stratad loads it. Needs root (the cases mount snapshots).

  --plugin FILE.so     the plugin file (also: $STRATA_CONFORMANCE_PLUGIN)
  --id ID              fail unless the file's plugin has this id (also: $STRATA_CONFORMANCE_ID)
  --config FILE.toml   a stratad config file; its [plugins."<type>.<id>"] sections configure the
                       plugin and what it requires (also: $STRATA_CONFORMANCE_CONFIG)
  --plugin-dir DIR     load the plugin files of DIR too, so that the plugins FILE.so requires
                       are there; they are initialised before it, in dependency order (may be
                       repeated; also: $STRATA_CONFORMANCE_PLUGIN_DIRS, ':'-separated)
  --no-reopen          the snapshotter keeps nothing across close (in memory): skip the
                       persistence case (also: $STRATA_CONFORMANCE_NO_REOPEN=1)
  $STRATA_CONFORMANCE_TMPDIR   where scratch roots go (default /var/tmp)

Exit status: 0 all cases passed or skipped, 1 a case failed, 2 the plugin could not be loaded.
)";

struct Args {
  std::string plugin, id, config;
  std::vector<std::string> plugin_dirs;
  bool reopen = true;
};

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}

// Takes our flags out of argv so that GoogleTest sees only its own.
std::optional<Args> parse(int& argc, char** argv) {
  Args a{env("STRATA_CONFORMANCE_PLUGIN"),
         env("STRATA_CONFORMANCE_ID"),
         env("STRATA_CONFORMANCE_CONFIG"),
         {},
         env("STRATA_CONFORMANCE_NO_REOPEN") != "1"};
  for (std::string dirs = env("STRATA_CONFORMANCE_PLUGIN_DIRS"); !dirs.empty();) {
    auto colon = dirs.find(':');
    if (colon != 0)
      a.plugin_dirs.push_back(dirs.substr(0, colon));
    dirs = colon == std::string::npos ? "" : dirs.substr(colon + 1);
  }
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
    if (std::string dir; value("--plugin-dir", dir)) {
      a.plugin_dirs.push_back(dir);
      continue;
    }
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

// The nodes stratad would initialise for `uri`: the plugin and everything it requires,
// transitively (wildcard matches included), in the graph's init order. A requirement that no
// loaded file provides is the plugin's node problem, which its init record then reports.
std::vector<registry::Node> nodes_for(const std::string& uri) {
  auto all = registry::graph(registry::Registry::instance().entries(), {});
  std::set<std::string> needed{uri};
  // Init order puts dependencies first, so one pass from the end collects every level.
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (needed.contains(it->entry.registration.uri()))
      needed.insert(it->dependencies.begin(), it->dependencies.end());
  std::vector<registry::Node> out;
  for (auto& n : all)
    if (needed.contains(n.entry.registration.uri()))
      out.push_back(std::move(n));
  return out;
}

// The plugins initialised for one case. Destroyed when the case lets go of its snapshotter: then
// everything is closed in reverse init order, the snapshotter again (close twice must be fine)
// and what it required after it.
struct Initialised {
  host::PluginSet set;
  PluginRecord record;
  std::shared_ptr<Instance> instance;
  ~Initialised() { set.close_all(); }
};

// `nodes` initialised as stratad would with config root `root` (each plugin's own root is then
// <root>/<uri>) and state <root>.state; `uri` is the plugin under test.
std::shared_ptr<Initialised> initialise(const std::vector<registry::Node>& nodes,
                                        const std::string& uri, const host::Config& cfg,
                                        const std::string& root) {
  host::PluginSetOptions options;
  options.root = root;
  options.state = root + ".state";
  options.address = ""; // no API server runs here
  options.config_for = [&cfg](const Registration& r) {
    return host::plugin_config(cfg, r.uri(), r.config_defaults);
  };
  auto out = std::make_shared<Initialised>();
  out->set.initialise(nodes, options);
  if (const PluginRecord* r = out->set.find(uri))
    out->record = *r;
  out->instance = out->set.instance(uri);
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
  // What the plugin may require: every file of the plugin directories but the one under test.
  for (const auto& dir : args->plugin_dirs) {
    auto files = host::plugin_files(dir);
    if (!files)
      die("plugin directory " + dir + ": " + files.error().to_string());
    for (const auto& file : *files) {
      std::error_code ec;
      if (std::filesystem::equivalent(file, path, ec))
        continue;
      host::FileOutcome o = host::load_plugin_file(file, registry::Registry::instance());
      // Not fatal: a file the plugin does not need may fail; one it needs shows in its record.
      if (o.error)
        std::printf("conformance: note: %s not loaded: %s\n", file.c_str(),
                    o.error->to_string().c_str());
    }
  }
  const std::vector<registry::Node> nodes = nodes_for(uri);

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
    auto first = initialise(nodes, uri, cfg, probe.path() + "/root");
    const PluginRecord& r = first->record;
    if (r.status == PluginStatus::Skip) {
      d.skip_reason = "plugin " + uri + " skipped at init: " + r.reason;
    } else if (r.status != PluginStatus::Ok) {
      die("plugin " + uri + " failed at init: " + r.error_code + ": " + r.reason +
          (nodes.size() == 1 && !entry->registration.requires_list.empty()
               ? " (pass --plugin-dir with the plugin files it requires)"
               : ""));
    } else if (!std::dynamic_pointer_cast<Snapshotter>(first->instance)) {
      die("plugin " + uri + "'s init returned an instance that is not a strata::Snapshotter");
    } else {
      for (const auto& c : r.meta.capabilities)
        d.capabilities.insert(c);
      if (auto st = first->instance->close(); !st)
        die("plugin " + uri + ": close after the first init: " + st.error().to_string());
    }
  }
  d.factory = [nodes, cfg, uri](const std::string& root) -> Result<std::shared_ptr<Snapshotter>> {
    auto i = initialise(nodes, uri, cfg, root);
    if (i->record.status != PluginStatus::Ok) {
      auto code = parse_code(i->record.error_code).value_or(Code::Unavailable);
      return Error(code == Code::Ok ? Code::Unavailable : code,
                   "plugin " + uri + " " + std::string(to_string(i->record.status)) +
                       " at init: " + i->record.reason);
    }
    auto* s = dynamic_cast<Snapshotter*>(i->instance.get());
    if (!s)
      return Error(Code::Internal, "plugin " + uri + " is not a strata::Snapshotter");
    // Shares ownership of everything initialised for the case, so the plugins it required stay
    // up as long as the snapshotter does.
    return std::shared_ptr<Snapshotter>(i, s);
  };
  std::printf("conformance: %s from %s", uri.c_str(), path.c_str());
  for (const auto& n : nodes)
    if (n.entry.registration.uri() != uri)
      std::printf("%s %s", &n == &nodes.front() ? ", after" : ",",
                  n.entry.registration.uri().c_str());
  std::printf(", capabilities:");
  for (const auto& c : d.capabilities)
    std::printf(" %s", c.c_str());
  std::printf("%s\n", d.capabilities.empty() ? " (none)" : "");
  conformance::add_snapshotter(std::move(d));
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS() == 0 ? 0 : 1;
}
