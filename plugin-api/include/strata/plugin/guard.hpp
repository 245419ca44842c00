#pragma once
/// \file
/// The exception guard at the plugin edge: a plugin's methods are called from the host (or from
/// another plugin) across a shared-object boundary, where an exception must never travel.

#include "strata/plugin/error.hpp"

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>

namespace strata {

namespace detail {
/// The text of a guard's context: the string itself, or what the context function returns.
/// Errors: none; guard is noexcept, so a context function that throws terminates the process.
template <class Context> std::string guard_context(Context& context) {
  if constexpr (std::is_invocable_v<Context&>)
    return std::string(context());
  else
    return std::string(std::string_view(context));
}
} // namespace detail

/// Runs `fn()` and returns what it returns; an exception it throws becomes an Internal error
/// "<context>: <what()>" ("<context>: non-standard exception" for one not derived from
/// std::exception). `context` is a string, or a function returning one that is called only when
/// `fn` threw: a context built from a key then allocates nothing on the normal path and cannot
/// throw outside the guard. The result type of `fn` must be constructible from Error: Result<T>,
/// Status or InitResult. Use it around the body of every interface method that may throw
/// (allocation, std::thread, std::filesystem, Boost).
/// Errors: Internal when `fn` throws; otherwise whatever `fn` returns.
template <class Context, class Fn>
auto guard(Context&& context, Fn&& fn) noexcept -> std::invoke_result_t<Fn&> {
  static_assert(std::is_constructible_v<std::invoke_result_t<Fn&>, Error>,
                "strata::guard needs a function returning Result<T>, Status or InitResult");
  try {
    return fn();
  } catch (const std::exception& e) {
    return internal_error(detail::guard_context(context) + ": " + e.what());
  } catch (...) {
    return internal_error(detail::guard_context(context) + ": non-standard exception");
  }
}

} // namespace strata
