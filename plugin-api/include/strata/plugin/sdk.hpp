#pragma once
/// \file
/// The strata plugin SDK: include this one header, write one class, add one macro.
///
/// \code
/// #include <strata/plugin/sdk.hpp>
///
/// class Hello final : public strata::Snapshotter {
/// public:
///   static constexpr strata::PluginSpec spec{
///       .type = strata::plugin_type::snapshotter,
///       .id = "hello",
///       .version = "0.1.0",
///       .requires_list = {"strata.content.v1.*"},   // optional
///       .config = "greeting = \"hi\"\n",            // optional: TOML defaults of its section
///   };
///   static strata::InitResult init(strata::InitContext& ic);
///   ... Snapshotter methods ...
/// };
///
/// STRATA_PLUGIN(Hello)
/// \endcode
///
/// Build it as a shared module with `pkg-config --cflags --libs strata-plugin`,
/// `-fvisibility=hidden` and `-Wl,-z,defs`, and drop it into a plugin directory (see the
/// `plugindir` pkg-config variable). The macro defines the ABI entry and the toolchain marker;
/// the plugin must have no other static initialisers with side effects: they would run when the
/// host opens the file, before it can check anything.

#include "strata/plugin/abi.h"
#include "strata/plugin/content.hpp"
#include "strata/plugin/descriptor.hpp"
#include "strata/plugin/differ.hpp"
#include "strata/plugin/error.hpp"
#include "strata/plugin/filters.hpp"
#include "strata/plugin/guard.hpp"
#include "strata/plugin/images.hpp"
#include "strata/plugin/init_context.hpp"
#include "strata/plugin/instance.hpp"
#include "strata/plugin/json.hpp"
#include "strata/plugin/labels.hpp"
#include "strata/plugin/logger.hpp"
#include "strata/plugin/meta.hpp"
#include "strata/plugin/mount.hpp"
#include "strata/plugin/platform.hpp"
#include "strata/plugin/registration.hpp"
#include "strata/plugin/snapshot.hpp"
#include "strata/plugin/snapshotter.hpp"
#include "strata/plugin/toolchain.hpp"
#include "strata/plugin/try.hpp"
#include "strata/plugin/types.hpp"

#include <type_traits>

namespace strata {

/// Most entries a PluginSpec's requires_list can hold (the last one must stay null).
inline constexpr int max_requires = 16;

/// Compile-time identity of a plugin class, read by STRATA_PLUGIN.
struct PluginSpec {
  const char* type = nullptr;    ///< see strata::plugin_type
  const char* id = nullptr;      ///< unique within the type
  const char* version = "0.0.0"; ///< the plugin's own version
  /// Null-terminated dependencies ("<type>.<id>", "?<type>.<id>" for an optional one, "<type>.*"
  /// or "*"; see Registration::requires_list); unused slots stay null.
  const char* requires_list[max_requires] = {};
  /// TOML defaults of the plugin's config section; null or "" for none.
  const char* config = nullptr;
};

namespace detail {
/// Registers plugin class C. Runs inside the plugin; never lets an exception out.
template <class C> int register_plugin(void* registrar) noexcept {
  static_assert(std::is_base_of_v<Instance, C>, "a plugin class must derive from strata::Instance");
  try {
    Registration r;
    r.type = C::spec.type;
    r.id = C::spec.id;
    r.version = C::spec.version;
    for (int i = 0; i < max_requires && C::spec.requires_list[i]; ++i)
      r.requires_list.emplace_back(C::spec.requires_list[i]);
    if (C::spec.config)
      r.config_defaults = C::spec.config;
    r.init = [](InitContext& ic) -> InitResult { return C::init(ic); };
    return static_cast<Registrar*>(registrar)->add(std::move(r)).ok() ? 0 : 1;
  } catch (...) {
    return 2;
  }
}
} // namespace detail
} // namespace strata

#define STRATA_PLUGIN_EXPORT __attribute__((visibility("default")))

/// Defines the ABI entry (strata_plugin_v2) and the toolchain marker for plugin class `Class`.
/// Use exactly once per shared object, at namespace scope.
#define STRATA_PLUGIN(Class)                                                                       \
  static_assert(                                                                                   \
      Class::spec.requires_list[::strata::max_requires - 1] == nullptr,                            \
      "PluginSpec::requires_list holds at most max_requires - 1 entries: the host reads "          \
      "it up to its terminating null");                                                            \
  extern "C" STRATA_PLUGIN_EXPORT const char STRATA_TOOLCHAIN_SYMBOL[] = STRATA_TOOLCHAIN_TAG;     \
  static int strata_plugin_register_(void* registrar) noexcept {                                   \
    return ::strata::detail::register_plugin<Class>(registrar);                                    \
  }                                                                                                \
  static constinit const strata_plugin_descriptor strata_plugin_descriptor_ = {                    \
      STRATA_PLUGIN_ABI_MAJOR,                                                                     \
      STRATA_PLUGIN_ABI_MINOR,                                                                     \
      sizeof(strata_plugin_descriptor),                                                            \
      0,                                                                                           \
      STRATA_TOOLCHAIN_TAG,                                                                        \
      Class::spec.type,                                                                            \
      Class::spec.id,                                                                              \
      Class::spec.version,                                                                         \
      Class::spec.requires_list,                                                                   \
      &strata_plugin_register_,                                                                    \
  };                                                                                               \
  extern "C" STRATA_PLUGIN_EXPORT const strata_plugin_descriptor* STRATA_PLUGIN_ENTRY(void) {      \
    return &strata_plugin_descriptor_;                                                             \
  }
