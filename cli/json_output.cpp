#include "json_output.hpp"

#include <string>

namespace strata::cli {
namespace {

void write(std::ostream& out, const json::value& v, std::size_t depth) {
  const std::string indent(2 * (depth + 1), ' ');
  const std::string closing(2 * depth, ' ');
  if (v.is_object() && !v.get_object().empty()) {
    out << "{\n";
    bool first = true;
    for (const auto& [key, item] : v.get_object()) {
      out << (first ? "" : ",\n") << indent << json::serialize(json::string(key)) << ": ";
      write(out, item, depth + 1);
      first = false;
    }
    out << '\n' << closing << '}';
  } else if (v.is_array() && !v.get_array().empty()) {
    out << "[\n";
    bool first = true;
    for (const auto& item : v.get_array()) {
      out << (first ? "" : ",\n") << indent;
      write(out, item, depth + 1);
      first = false;
    }
    out << '\n' << closing << ']';
  } else {
    // Scalars and empty containers: serialize's own text, so nothing is reformatted.
    out << json::serialize(v);
  }
}

} // namespace

void print_json(std::ostream& out, const json::value& value) {
  write(out, value, 0);
  out << '\n';
}

} // namespace strata::cli
