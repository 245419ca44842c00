#include "config/config.hpp"
#include "config/diagnostics.hpp"

#include <strata/plugin/try.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>

namespace strata::host {

namespace {

using namespace config_detail;

const std::vector<std::string> top_level_keys = {
    "version",          "root", "state",  "plugin_dirs", "disabled_plugins",
    "required_plugins", "api",  "plugins"};
const std::vector<std::string> api_keys = {"address",
                                           "max_body_bytes",
                                           "max_connections",
                                           "max_streams",
                                           "max_streams_per_client",
                                           "min_transfer_bytes",
                                           "transfer_window_seconds",
                                           "workers"};

// The integer keys of [api] with the range each accepts.
struct ApiLimit {
  std::string_view key;
  std::uint64_t ApiConfig::*field;
  std::int64_t min;
  std::int64_t max;
};
constexpr std::int64_t no_max = std::numeric_limits<std::int64_t>::max();
const ApiLimit api_limits[] = {
    {"max_body_bytes", &ApiConfig::max_body_bytes, 1, no_max},
    {"max_connections", &ApiConfig::max_connections, 1, 1 << 20},
    {"max_streams", &ApiConfig::max_streams, 1, 65536},
    {"max_streams_per_client", &ApiConfig::max_streams_per_client, 1, 65536},
    {"min_transfer_bytes", &ApiConfig::min_transfer_bytes, 0, no_max},
    {"transfer_window_seconds", &ApiConfig::transfer_window_seconds, 1, 3600},
    {"workers", &ApiConfig::workers, 1, 1024},
};

// Walks the parsed document once; the first problem, in file order, is the result.
class Validator {
public:
  explicit Validator(const std::string& file) : file_(file) {}

  Status top_level(toml::table& root, Config& cfg) {
    for (auto [key, node] : in_file_order(root)) {
      const std::string_view k = key->str();
      Status st;
      if (k == "version")
        st = version(*key, *node, cfg.version);
      else if (k == "root")
        st = absolute_path(*key, *node, "", cfg.root);
      else if (k == "state")
        st = absolute_path(*key, *node, "", cfg.state);
      else if (k == "plugin_dirs")
        st = string_list(*key, *node, cfg.plugin_dirs, [this](auto& key, auto& elem, auto& s) {
          return require_absolute(key, elem, s, "an entry of ");
        });
      else if (k == "disabled_plugins" || k == "required_plugins")
        st = string_list(*key, *node,
                         k == "disabled_plugins" ? cfg.disabled_plugins : cfg.required_plugins,
                         [this](auto& key, auto& elem, auto& s) { return uri(key, elem, s); });
      else if (k == "api")
        st = api(*key, *node, cfg.api);
      else if (k == "plugins")
        // The sections move out of the document: a copy would lose their source positions.
        st = plugins(*key, *node, cfg.plugins);
      else
        st = unknown(*key, "", top_level_keys);
      if (!st)
        return st;
    }
    return distinct_root_and_state(root, cfg);
  }

private:
  using ElementCheck =
      std::function<Status(const toml::key&, const toml::node&, const std::string&)>;

  Error error(const toml::node& at, const toml::key& key, const std::string& message) const {
    return invalid_argument(position(file_, at.source(), key.source()) + message);
  }

  Status unknown(const toml::key& key, std::string_view in, const std::vector<std::string>& known) {
    return invalid_argument(fmt::format("{}unknown key {}{}; {}", position(file_, key.source()),
                                        toml_quoted(key.str()), in,
                                        known_keys_hint(key.str(), known)));
  }

  Error wrong_type(const toml::key& key, const toml::node& node, std::string_view in,
                   std::string_view expected) const {
    return error(node, key,
                 fmt::format("key {}{} must be {}, not {}", toml_quoted(key.str()), in, expected,
                             type_name(node.type())));
  }

  Status version(const toml::key& key, const toml::node& node, std::int64_t& out) {
    const auto* v = node.as_integer();
    if (!v)
      return wrong_type(key, node, "", "an integer");
    if (v->get() != 1)
      return error(
          node, key,
          fmt::format("version {} is not supported; this stratad reads version 1", v->get()));
    out = v->get();
    return {};
  }

  Status require_absolute(const toml::key& key, const toml::node& at, const std::string& path,
                          std::string_view what) {
    if (std::filesystem::path(path).is_absolute())
      return {};
    return error(at, key,
                 fmt::format("{}key {} is {}: relative paths are not allowed: use an absolute path",
                             what, toml_quoted(key.str()), toml_quoted(path)));
  }

  Status absolute_path(const toml::key& key, const toml::node& node, std::string_view in,
                       std::string& out) {
    const auto* v = node.as_string();
    if (!v)
      return wrong_type(key, node, in, "a string");
    if (!std::filesystem::path(v->get()).is_absolute())
      return error(node, key,
                   fmt::format("key {}{} is {}: relative paths are not allowed: use an absolute "
                               "path",
                               toml_quoted(key.str()), in, toml_quoted(v->get())));
    out = v->get();
    return {};
  }

  Status uri(const toml::key& key, const toml::node& at, const std::string& s) {
    if (looks_like_uri(s))
      return {};
    return error(at, key,
                 fmt::format("an entry of key {} is {}, which is not a plugin URI: write "
                             "\"<type>.<id>\", e.g. \"strata.snapshotter.v1.overlayfs\"",
                             toml_quoted(key.str()), toml_quoted(s)));
  }

  Status string_list(const toml::key& key, const toml::node& node, std::vector<std::string>& out,
                     const ElementCheck& check) {
    const auto* arr = node.as_array();
    if (!arr)
      return wrong_type(key, node, "", "an array of strings");
    std::vector<std::string> values;
    for (std::size_t i = 0; i < arr->size(); ++i) {
      const toml::node& elem = *arr->get(i);
      const auto* s = elem.as_string();
      if (!s)
        return error(elem, key,
                     fmt::format("key {} must be an array of strings; element {} is {}",
                                 toml_quoted(key.str()), i + 1, type_name(elem.type())));
      STRATA_TRY(check(key, elem, s->get()));
      values.push_back(s->get());
    }
    out = std::move(values);
    return {};
  }

  Status api(const toml::key& key, const toml::node& node, ApiConfig& out) {
    const auto* t = node.as_table();
    if (!t)
      return wrong_type(key, node, "", "a table");
    for (auto [k, v] : in_file_order(*t)) {
      Status st;
      if (k->str() == "address")
        st = absolute_path(*k, *v, " in [api]", out.address);
      else if (auto limit = std::ranges::find(api_limits, k->str(), &ApiLimit::key);
               limit != std::end(api_limits))
        st = api_integer(*k, *v, *limit, out.*(limit->field));
      else
        st = unknown(*k, " in [api]", api_keys);
      if (!st)
        return st;
    }
    if (out.max_streams_per_client > out.max_streams) {
      const toml::node* at = t->get("max_streams_per_client");
      if (!at)
        at = t->get("max_streams");
      return invalid_argument(fmt::format(
          "{}key \"max_streams_per_client\" in [api] is {}, more than max_streams ({}): one "
          "client may hold at most every streaming slot; lower it or raise max_streams",
          position(file_, at->source()), out.max_streams_per_client, out.max_streams));
    }
    return {};
  }

  Status api_integer(const toml::key& key, const toml::node& node, const ApiLimit& limit,
                     std::uint64_t& out) {
    const auto* v = node.as_integer();
    if (!v)
      return wrong_type(key, node, " in [api]", "an integer");
    if (v->get() < limit.min)
      return error(node, key,
                   fmt::format("key {} in [api] must be {}, not {}", toml_quoted(key.str()),
                               limit.min == 1 ? std::string("greater than 0")
                                              : fmt::format("at least {}", limit.min),
                               v->get()));
    if (v->get() > limit.max)
      return error(node, key,
                   fmt::format("key {} in [api] must be at most {}, not {}", toml_quoted(key.str()),
                               limit.max, v->get()));
    out = static_cast<std::uint64_t>(v->get());
    return {};
  }

  Status plugins(const toml::key& key, toml::node& node,
                 std::map<std::string, PluginSection>& out) {
    auto* t = node.as_table();
    if (!t)
      return wrong_type(key, node, "", "a table of [plugins.\"<type>.<id>\"] sections");
    for (auto [k, v] : in_file_order(*t)) {
      // An unquoted [plugins.strata.snapshotter.v1.x] nests a table per dot, so its first key
      // is not a URI: say how to quote it.
      if (!looks_like_uri(k->str()))
        return invalid_argument(fmt::format(
            "{}plugin section {} is not named by a plugin URI: write [plugins.\"<type>.<id>\"] "
            "with the URI in quotes, e.g. [plugins.\"strata.snapshotter.v1.overlayfs\"]",
            position(file_, k->source()), toml_quoted(k->str())));
      auto* section = v->as_table();
      if (!section)
        return error(*v, *k,
                     fmt::format("plugin section [plugins.{}] must be a table, not {}",
                                 toml_quoted(k->str()), type_name(v->type())));
      out[std::string(k->str())] = PluginSection{std::move(*section), file_};
    }
    return {};
  }

  Status distinct_root_and_state(const toml::table& root, const Config& cfg) {
    namespace fs = std::filesystem;
    auto normal = [](const std::string& p) {
      auto s = fs::path(p).lexically_normal().string();
      while (s.size() > 1 && s.back() == '/')
        s.pop_back();
      return s;
    };
    if (normal(cfg.root) != normal(cfg.state))
      return {};
    // Point at whichever of the two the operator wrote last.
    const toml::node* at = root.get("state");
    const toml::node* r = root.get("root");
    if (!at || (r && std::pair(r->source().begin.line, r->source().begin.column) >
                         std::pair(at->source().begin.line, at->source().begin.column)))
      at = r;
    std::string where = at ? position(file_, at->source()) : file_ + ": ";
    return invalid_argument(fmt::format(
        "{}root and state are both {}; they must differ: root holds persistent data, state "
        "holds runtime state",
        where, toml_quoted(cfg.root)));
  }

  const std::string& file_;
};

} // namespace

Result<Config> parse_config(std::string_view text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(source_name));
  } catch (const toml::parse_error& e) {
    return invalid_argument(position(source_name, e.source()) + std::string(e.description()));
  }
  Config cfg;
  cfg.source = source_name;
  STRATA_TRY(Validator(source_name).top_level(root, cfg));
  return cfg;
}

} // namespace strata::host
