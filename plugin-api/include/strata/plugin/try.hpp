#pragma once
/// \file
/// Passing an Error up: STRATA_TRY and STRATA_TRY_ASSIGN stand for the
/// `if (!x) return std::move(x).error();` that follows most fallible calls.
///
/// \code
/// strata::Result<strata::Info> parent_info(strata::Snapshotter& s, const std::string& key) {
///   STRATA_TRY_ASSIGN(auto info, s.stat(key)); // returns stat's Error, or declares info
///   STRATA_TRY(strata::check_snapshot_key(info.parent, "parent")); // a Status: its Error
///   return s.stat(info.parent);
/// }
/// \endcode
///
/// Both work in any function, or lambda with a declared return type, that returns a Result<U>
/// or a Status: an Error converts to either. Where the error needs context, keep the explicit
/// form (`return std::move(x).error().wrap("...")`). These are macros over the Result API only:
/// no type, vtable or layout of the ABI depends on them.

#include "strata/plugin/error.hpp"

#include <utility>

/// Evaluates `expr`, a Result<T> or a Status; when it holds an Error, returns that Error from the
/// enclosing function. A value it holds is dropped. A statement: `STRATA_TRY(f(x));`.
#define STRATA_TRY(expr)                                                                           \
  do {                                                                                             \
    if (auto&& strata_try_result_ = (expr); !strata_try_result_)                                   \
      return std::move(strata_try_result_).error();                                                \
  } while (false)

/// Evaluates `expr`, a Result<T>; when it holds an Error, returns that Error from the enclosing
/// function, else initialises or assigns `lhs` (`auto x`, `const auto& x`, `existing`) from its
/// value, moved out. It expands to a declaration and two statements: use it as a statement of
/// its own inside braces, never as the body of an unbraced if or loop. An lvalue `expr` is moved
/// from.
#define STRATA_TRY_ASSIGN(lhs, expr)                                                               \
  STRATA_TRY_ASSIGN_IMPL_(STRATA_TRY_CONCAT_(strata_try_result_, __COUNTER__), lhs, expr)

/// Implementation of STRATA_TRY_ASSIGN: `tmp` is a name unique to the expansion.
#define STRATA_TRY_ASSIGN_IMPL_(tmp, lhs, expr)                                                    \
  auto&& tmp = (expr);                                                                             \
  if (!tmp)                                                                                        \
    return std::move(tmp).error();                                                                 \
  lhs = std::move(tmp).value()

/// Token pasting after expansion, for STRATA_TRY_ASSIGN's unique names.
#define STRATA_TRY_CONCAT_(a, b) STRATA_TRY_CONCAT_INNER_(a, b)
/// Token pasting, for STRATA_TRY_CONCAT_.
#define STRATA_TRY_CONCAT_INNER_(a, b) a##b
