#pragma once
/// \file
/// The error model: every fallible operation returns a value, never throws across the plugin
/// boundary. Codes follow the gRPC/containerd family so that clients can branch on them.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace strata {

/// Error codes. The numeric values are part of the ABI and of the HTTP API (as names).
enum class Code : int {
  Ok = 0,
  Cancelled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  NotImplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
  /// Not a gRPC code: Applier::apply with ApplyTarget::UpperdirUnknownLowers met an entry that
  /// needs the layers below (a hardlink to a file the layer does not hold, a directory it implies
  /// without holding it, an opaque marker at its root). Nothing about the layer is wrong: apply it
  /// again onto its committed parent. Since ABI 2.0; HTTP status 412, as FailedPrecondition.
  NeedsParent = 17,
};

/// The code's name as used in JSON, e.g. "NotFound".
std::string_view to_string(Code code) noexcept;
/// Parses a name produced by to_string(); nullopt for anything else.
std::optional<Code> parse_code(std::string_view name) noexcept;

/// A failure: a code and a message that helps the reader fix it.
class Error {
public:
  /// `code` must not be Code::Ok.
  Error(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  /// The error code.
  Code code() const noexcept { return code_; }
  /// The message, without the code.
  const std::string& message() const noexcept { return message_; }
  /// "NotFound: snapshot \"x\" does not exist".
  std::string to_string() const;
  /// A copy with "context: " prefixed to the message; the code is kept.
  Error wrap(std::string_view context) const;

private:
  Code code_;
  std::string message_;
};

/// Shorthands for the common codes.
inline Error invalid_argument(std::string m) {
  return {Code::InvalidArgument, std::move(m)};
}
inline Error not_found(std::string m) {
  return {Code::NotFound, std::move(m)};
}
inline Error already_exists(std::string m) {
  return {Code::AlreadyExists, std::move(m)};
}
inline Error failed_precondition(std::string m) {
  return {Code::FailedPrecondition, std::move(m)};
}
inline Error not_implemented(std::string m) {
  return {Code::NotImplemented, std::move(m)};
}
inline Error unavailable(std::string m) {
  return {Code::Unavailable, std::move(m)};
}
inline Error internal_error(std::string m) {
  return {Code::Internal, std::move(m)};
}
inline Error needs_parent(std::string m) {
  return {Code::NeedsParent, std::move(m)};
}

/// Either a value or an Error. Access to the wrong alternative is a programming error (asserts).
template <class T> class [[nodiscard]] Result {
public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

  /// True when a value is held.
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  /// The value; only valid when ok().
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  /// The error; only valid when !ok().
  const Error& error() const& { return std::get<1>(v_); }
  Error&& error() && { return std::get<1>(std::move(v_)); }

private:
  std::variant<T, Error> v_;
};

/// Success or an Error.
template <> class [[nodiscard]] Result<void> {
public:
  Result() = default;
  Result(Error error) : e_(std::move(error)) {}

  /// True on success.
  bool ok() const noexcept { return !e_.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  /// The error; only valid when !ok().
  const Error& error() const& { return *e_; }
  Error&& error() && { return std::move(*e_); }

private:
  std::optional<Error> e_;
};

/// Result of an operation that yields nothing.
using Status = Result<void>;

} // namespace strata
