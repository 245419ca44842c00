#include "strata/plugin/error.hpp"

#include <array>

namespace strata {
namespace {
constexpr std::array<std::string_view, 18> code_names = {
    "Ok",       "Cancelled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",   "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",      "NotImplemented",   "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated", "NeedsParent"};
} // namespace

std::string_view to_string(Code code) noexcept {
  auto i = static_cast<std::size_t>(code);
  return i < code_names.size() ? code_names[i] : "Unknown";
}

std::optional<Code> parse_code(std::string_view name) noexcept {
  for (std::size_t i = 0; i < code_names.size(); ++i)
    if (code_names[i] == name)
      return static_cast<Code>(i);
  return std::nullopt;
}

std::string Error::to_string() const {
  return std::string(strata::to_string(code_)) + ": " + message_;
}

Error Error::wrap(std::string_view context) const {
  return Error(code_, std::string(context) + ": " + message_);
}

} // namespace strata
