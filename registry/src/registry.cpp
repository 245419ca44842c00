#include "strata/registry/registry.hpp"

#include <algorithm>

namespace strata::registry {
namespace {

bool is_valid_name(const std::string& s) {
  return !s.empty() && std::none_of(s.begin(), s.end(), [](unsigned char c) {
    return c <= ' ' || c == '"' || c == '\\' || c >= 0x7f;
  });
}

Status validate(const Registration& r) {
  if (r.type.empty())
    return invalid_argument("plugin has no type");
  if (r.id.empty())
    return invalid_argument("plugin of type " + r.type + " has no id");
  if (!is_valid_name(r.type) || !is_valid_name(r.id))
    return invalid_argument(
        "plugin \"" + r.uri() +
        "\": type and id must not contain spaces, quotes or control characters");
  if (!r.init)
    return invalid_argument("plugin " + r.uri() + " has no init function");
  const std::string self = r.uri();
  for (const auto& req : r.requires_list) {
    if (req == "*") {
      if (r.requires_list.size() != 1)
        return invalid_argument("plugin " + self +
                                ": \"*\" (every other plugin) must be its only requires entry");
      continue;
    }
    const bool optional = req.starts_with(optional_prefix);
    const std::string name = optional ? req.substr(1) : req;
    if (name == self)
      return invalid_argument("plugin " + self + " requires itself");
    auto dot = name.rfind('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == name.size() || !is_valid_name(name))
      return invalid_argument("plugin " + self + ": requires entry \"" + req +
                              "\" is not \"<type>.<id>\", \"?<type>.<id>\", \"<type>.*\" or "
                              "\"*\"");
    if (optional && name.ends_with(".*"))
      return invalid_argument("plugin " + self + ": requires entry \"" + req +
                              "\": a wildcard is optional already; write \"" + name + "\"");
  }
  return {};
}

} // namespace

Registry& Registry::instance() {
  // Leaked on purpose: destruction order at exit must never matter.
  static Registry* registry = new Registry();
  return *registry;
}

Status Registry::add(Registration r, std::string origin, std::shared_ptr<void> library) {
  if (auto st = validate(r); !st)
    return st.error().wrap(origin);
  std::lock_guard lock(mu_);
  const std::string uri = r.uri();
  for (const auto& e : entries_) {
    if (e.registration.uri() == uri)
      return already_exists("plugin " + uri + " from " + origin + " is already registered by " +
                            e.origin + "; remove one of the two files or disable one with " +
                            "disabled_plugins");
  }
  entries_.push_back({std::move(r), std::move(origin), std::move(library)});
  return {};
}

std::vector<Entry> Registry::entries() const {
  std::lock_guard lock(mu_);
  return entries_;
}

void Registry::reset() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

OriginRegistrar::OriginRegistrar(Registry& registry, std::string origin,
                                 std::shared_ptr<void> library)
    : registry_(registry), origin_(std::move(origin)), library_(std::move(library)) {}

Status OriginRegistrar::do_add(Registration r) {
  std::string uri = r.uri();
  auto st = registry_.add(std::move(r), origin_, library_);
  if (st)
    registered_.push_back(std::move(uri));
  else
    refused_.push_back(st.error());
  return st;
}

} // namespace strata::registry
