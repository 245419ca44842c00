#include "api/uri.hpp"

#include <strata/plugin/try.hpp>

#include <boost/url/encoding_opts.hpp>
#include <boost/url/pct_string_view.hpp>

namespace strata::host::api {

// Percent-escapes are checked and decoded by Boost.URL. The splitting on '/', '&' and '=' stays
// here on purpose: Boost.URL's path and query grammars (parse_origin_form, parse_query) refuse
// every byte outside RFC 3986's character sets ('"', '{', '|', raw UTF-8), which Beast lets into a
// request target and clients send (a filter such as labels."a"==b typed into curl); refusing those
// would turn requests that work today into 400s. What we refuse is what we always refused:
// malformed escapes and NUL.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  auto checked = boost::urls::make_pct_string_view(text);
  if (!checked)
    return std::nullopt;
  auto decoded = checked->decode(boost::urls::encoding_opts(plus_is_space));
  // encoding_opts::disallow_null is declared in Boost 1.81 but no decoder reads it, so the NUL
  // rule is ours: a NUL would cut a key or path short wherever it reaches a C string.
  if (decoded.find('\0') != std::string::npos)
    return std::nullopt;
  return decoded;
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
                              "\" holds a malformed percent-escape or an encoded NUL in \"" +
                              std::string(raw) + "\"");
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
                              "\" holds a malformed percent-escape or an encoded NUL");
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
