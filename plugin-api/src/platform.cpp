#include "strata/plugin/platform.hpp"

#include "json_fields.hpp"

namespace strata {

std::string Platform::to_string() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty())
    s += "/" + variant;
  return s;
}

Platform Platform::host() {
#if defined(__x86_64__)
  return {"linux", "amd64", ""};
#elif defined(__aarch64__)
  return {"linux", "arm64", "v8"};
#elif defined(__i386__)
  return {"linux", "386", ""};
#else
  return {"linux", "unknown", ""};
#endif
}

Result<Platform> parse_platform(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
  }
  bool empty_part = false;
  for (const auto& p : parts)
    empty_part = empty_part || p.empty();
  if (parts.size() < 2 || parts.size() > 3 || empty_part)
    return invalid_argument("platform \"" + std::string(text) +
                            "\" is not of the form os/architecture[/variant], e.g. linux/amd64");
  return Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const Platform& p) {
  json::object o{{"os", p.os}, {"architecture", p.architecture}};
  if (!p.variant.empty())
    o["variant"] = p.variant;
  jv = std::move(o);
}

Platform tag_invoke(const json::value_to_tag<Platform>&, const json::value& jv) {
  return {detail::field<std::string>(jv, "os"), detail::field<std::string>(jv, "architecture"),
          detail::field_or<std::string>(jv, "variant", "")};
}

} // namespace strata
