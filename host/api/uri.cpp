#include "api/uri.hpp"

#include <strata/plugin/try.hpp>

namespace strata::host::api {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size())
        return std::nullopt;
      int hi = hex_value(text[i + 1]);
      int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Result<std::vector<std::string>> split_path(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return invalid_argument("request path \"" + std::string(path) + "\" does not start with '/'");
  std::string_view rest = path.substr(1);
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  std::vector<std::string> segments;
  if (rest.empty())
    return segments;
  while (true) {
    auto slash = rest.find('/');
    auto raw = rest.substr(0, slash);
    auto decoded = percent_decode(raw, false);
    if (!decoded)
      return invalid_argument("request path \"" + std::string(path) +
                              "\" holds a malformed percent-escape in \"" + std::string(raw) +
                              "\"");
    segments.push_back(std::move(*decoded));
    if (slash == std::string_view::npos)
      break;
    rest = rest.substr(slash + 1);
  }
  return segments;
}

Result<QueryList> parse_query_list(std::string_view query) {
  QueryList params;
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty())
      continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = eq == std::string_view::npos ? std::optional<std::string>("")
                                              : percent_decode(pair.substr(eq + 1), true);
    if (!key || !value)
      return invalid_argument("query parameter \"" + std::string(pair) +
                              "\" holds a malformed percent-escape");
    params.emplace_back(std::move(*key), std::move(*value));
  }
  return params;
}

Result<QueryParams> parse_query(std::string_view query) {
  STRATA_TRY_ASSIGN(auto list, parse_query_list(query));
  QueryParams params;
  for (auto& [key, value] : list)
    params[std::move(key)] = std::move(value);
  return params;
}

} // namespace strata::host::api
