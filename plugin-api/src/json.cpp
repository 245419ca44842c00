#include "strata/plugin/json.hpp"

namespace strata {

Result<json::value> parse_json(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec)
    return invalid_argument(std::string(what) + ": malformed JSON: " + ec.message());
  return v;
}

} // namespace strata
