#pragma once
// --json output: the data as the server returned it, indented for people who read it too.

#include "strata/plugin/json.hpp"

#include <ostream>

namespace strata::cli {

/// Writes `value` indented by two spaces per level, followed by a newline. Same data as
/// json::serialize (keys in their order, numbers and strings as serialize writes them).
void print_json(std::ostream& out, const json::value& value);

} // namespace strata::cli
