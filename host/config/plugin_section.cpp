#include "config/plugin_section.hpp"

#include "config/diagnostics.hpp"
#include "config/toml_json.hpp"

#include <strata/plugin/try.hpp>

#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

namespace strata::host {

namespace config_detail {

namespace {

// Errors point at the operator's value; a value copied out of the parsed tree has lost its
// position, so the key's (keys keep theirs) stands in.
class Merger {
public:
  explicit Merger(const std::string& file) : file_(file) {}

  // `header` is the table's name as written in a header, e.g. plugins."a.b".sub
  Result<toml::table> table(const toml::table& defaults, const toml::table& given,
                            const std::string& header) const {
    toml::table out = defaults;
    for (auto [key, node] : in_file_order(given)) {
      const toml::node* d = defaults.get(key->str());
      if (!d)
        return unknown(*key, defaults, header);
      auto merged = value(*d, *node, *key, header);
      if (!merged)
        return std::move(merged).error();
      // Moving the node hands toml++ its concrete type.
      out.insert_or_assign(key->str(), std::move(**merged));
    }
    return out;
  }

private:
  // A node of whichever concrete type the merge produced.
  using Node = std::unique_ptr<toml::node>;

  static Node copy(const toml::node& n) {
    return n.visit([](const auto& concrete) -> Node {
      return std::make_unique<std::remove_cvref_t<decltype(concrete)>>(concrete);
    });
  }

  Result<toml::table> unknown(const toml::key& key, const toml::table& defaults,
                              const std::string& header) const {
    std::vector<std::string> known;
    for (const auto& [k, v] : defaults)
      known.emplace_back(k.str());
    return invalid_argument(fmt::format("{}unknown key {} in [{}]; {}",
                                        position(file_, key.source()), toml_quoted(key.str()),
                                        header, known_keys_hint(key.str(), known)));
  }

  Error wrong_type(const toml::node& at, const toml::key& key, const std::string& header,
                   std::string_view expected, std::string_view got) const {
    return invalid_argument(fmt::format("{}key {} in [{}] must be {}, not {}",
                                        position(file_, at.source(), key.source()),
                                        toml_quoted(key.str()), header, expected, got));
  }

  Result<Node> value(const toml::node& d, const toml::node& g, const toml::key& key,
                     const std::string& header) const {
    if (d.is_floating_point() && g.is_integer())
      return Node(
          std::make_unique<toml::value<double>>(static_cast<double>(g.as_integer()->get())));
    if (d.type() != g.type())
      return wrong_type(g, key, header, type_name(d.type()), type_name(g.type()));
    if (const auto* dt = d.as_table()) {
      // An empty default table is free-form: the plugin takes whatever keys the operator names.
      if (dt->empty())
        return copy(g);
      STRATA_TRY_ASSIGN(auto merged, table(*dt, *g.as_table(), header + "." + toml_key(key.str())));
      return Node(std::make_unique<toml::table>(std::move(merged)));
    }
    if (const auto* da = d.as_array())
      return array(*da, *g.as_array(), key, header);
    return copy(g);
  }

  // The operator's array replaces the default one. When the default has elements of one type,
  // that is the element type; tables among them are checked against the first default table.
  Result<Node> array(const toml::array& d, const toml::array& g, const toml::key& key,
                     const std::string& header) const {
    if (d.empty() || !d.is_homogeneous(d.get(0)->type()))
      return copy(g);
    const toml::node_type element_type = d.get(0)->type();
    auto out = std::make_unique<toml::array>();
    for (std::size_t i = 0; i < g.size(); ++i) {
      const toml::node& e = *g.get(i);
      if (element_type == toml::node_type::floating_point && e.is_integer()) {
        out->push_back(static_cast<double>(e.as_integer()->get()));
        continue;
      }
      if (e.type() != element_type)
        return invalid_argument(
            fmt::format("{}key {} in [{}] must be an array of {}; element {} is {}",
                        position(file_, e.source(), key.source()), toml_quoted(key.str()), header,
                        plural(element_type), i + 1, type_name(e.type())));
      const auto* schema = d.get(0)->as_table();
      if (schema && !schema->empty()) {
        auto merged =
            table(*schema, *e.as_table(), fmt::format("{}.{}[{}]", header, toml_key(key.str()), i));
        if (!merged)
          return std::move(merged).error();
        out->push_back(std::move(*merged));
      } else {
        out->push_back(e);
      }
    }
    return Node(std::move(out));
  }

  static std::string_view plural(toml::node_type t) {
    switch (t) {
    case toml::node_type::table:
      return "tables";
    case toml::node_type::array:
      return "arrays";
    case toml::node_type::string:
      return "strings";
    case toml::node_type::integer:
      return "integers";
    case toml::node_type::floating_point:
      return "floats";
    case toml::node_type::boolean:
      return "booleans";
    case toml::node_type::date:
      return "dates";
    case toml::node_type::time:
      return "times";
    case toml::node_type::date_time:
      return "date-times";
    case toml::node_type::none:
      break;
    }
    return "values";
  }

  const std::string& file_;
};

Result<toml::table> parse_defaults(const std::string& uri, const std::string& defaults_toml) {
  try {
    return toml::parse(defaults_toml, std::string_view("<config defaults of " + uri + ">"));
  } catch (const toml::parse_error& e) {
    return internal_error(fmt::format(
        "plugin {} declares config defaults that are not valid TOML (a bug in the plugin, not in "
        "the config): line {}, column {}: {}",
        uri, e.source().begin.line, e.source().begin.column, e.description()));
  }
}

} // namespace

Result<toml::table> effective_section(const Config& cfg, const std::string& uri,
                                      const std::string& defaults_toml) {
  auto defaults = parse_defaults(uri, defaults_toml);
  if (!defaults)
    return defaults;
  auto it = cfg.plugins.find(uri);
  if (it == cfg.plugins.end())
    return defaults;
  const PluginSection& section = it->second;
  std::string header = "plugins." + toml_quoted(uri);
  if (defaults->empty())
    return invalid_argument(fmt::format("{}[{}]: plugin {} takes no configuration; remove the "
                                        "section",
                                        position(section.file, section.table.source()), header,
                                        uri));
  return Merger(section.file).table(*defaults, section.table, header);
}

} // namespace config_detail

Result<json::object> plugin_config(const Config& cfg, const std::string& uri,
                                   const std::string& defaults_toml) {
  STRATA_TRY_ASSIGN(auto section, config_detail::effective_section(cfg, uri, defaults_toml));
  return config_detail::to_json(section);
}

} // namespace strata::host
