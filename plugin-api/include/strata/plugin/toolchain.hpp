#pragma once
/// \file
/// The toolchain tag: plugins pass C++ objects (std::string, std::shared_ptr, Boost.JSON values)
/// across the boundary, so host and plugin must agree on compiler family, standard library, the
/// libstdc++ dual-ABI switch and the Boost version. The tag is computed from the headers the code
/// is compiled against; a plugin with another tag is refused before it is loaded.

#include "strata/plugin/abi.h"

#include <boost/version.hpp>
#include <cstddef> // defines __GLIBCXX__ / _LIBCPP_VERSION

#if defined(__clang__)
#define STRATA_TC_COMPILER clang
#elif defined(__GNUC__)
#define STRATA_TC_COMPILER gcc
#else
#define STRATA_TC_COMPILER other
#endif

#if defined(_LIBCPP_VERSION)
#define STRATA_TC_STDLIB libcxx
#define STRATA_TC_STDLIB_NAME "libc++"
#elif defined(__GLIBCXX__)
#define STRATA_TC_STDLIB libstdcxx
#define STRATA_TC_STDLIB_NAME "libstdc++"
#else
#define STRATA_TC_STDLIB otherstd
#define STRATA_TC_STDLIB_NAME "other"
#endif

#if defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI == 0
#define STRATA_TC_DUALABI cxx98
#else
#define STRATA_TC_DUALABI cxx11
#endif

/// Human-readable tag, e.g. "gcc/libstdc++/cxx11/boost-1_81".
#define STRATA_TOOLCHAIN_TAG                                                                       \
  STRATA_PLUGIN_STR(STRATA_TC_COMPILER)                                                            \
  "/" STRATA_TC_STDLIB_NAME "/" STRATA_PLUGIN_STR(STRATA_TC_DUALABI) "/boost-" BOOST_LIB_VERSION

/// Identifier of the marker symbol, e.g. strata_toolchain_gcc_libstdcxx_cxx11_boost108100.
#define STRATA_TOOLCHAIN_SYMBOL                                                                    \
  STRATA_PLUGIN_CAT(                                                                               \
      STRATA_PLUGIN_CAT(                                                                           \
          STRATA_PLUGIN_CAT(                                                                       \
              STRATA_PLUGIN_CAT(STRATA_PLUGIN_CAT(strata_toolchain_, STRATA_TC_COMPILER), _),      \
              STRATA_PLUGIN_CAT(STRATA_PLUGIN_CAT(STRATA_TC_STDLIB, _), STRATA_TC_DUALABI)),       \
          _boost),                                                                                 \
      BOOST_VERSION)

namespace strata {
/// The toolchain tag of the code including this header.
inline constexpr const char* toolchain_tag = STRATA_TOOLCHAIN_TAG;
/// The marker symbol name of the code including this header.
inline constexpr const char* toolchain_symbol = STRATA_PLUGIN_STR(STRATA_TOOLCHAIN_SYMBOL);
} // namespace strata
