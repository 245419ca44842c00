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

int http_status(Code code) noexcept {
  switch (code) {
  case Code::Ok:
    return 200;
  case Code::InvalidArgument:
  case Code::OutOfRange:
    return 400;
  case Code::Unauthenticated:
    return 401;
  case Code::PermissionDenied:
    return 403;
  case Code::NotFound:
    return 404;
  case Code::AlreadyExists:
  case Code::Aborted:
    return 409;
  case Code::FailedPrecondition:
  case Code::NeedsParent:
    return 412;
  case Code::ResourceExhausted:
    return 429;
  case Code::Cancelled:
    return 499;
  case Code::NotImplemented:
    return 501;
  case Code::Unavailable:
    return 503;
  case Code::DeadlineExceeded:
    return 504;
  case Code::Unknown:
  case Code::Internal:
  case Code::DataLoss:
    return 500;
  }
  return 500;
}

std::string Error::to_string() const {
  return std::string(strata::to_string(code_)) + ": " + message_;
}

Error Error::wrap(std::string_view context) const {
  return Error(code_, std::string(context) + ": " + message_);
}

} // namespace strata
