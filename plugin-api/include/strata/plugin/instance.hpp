#pragma once
/// \file
/// Instance: the base of every object a plugin's init returns.

#include "strata/plugin/error.hpp"

namespace strata {

/// Base class of plugin instances. Its destructor is defined in libstrata-plugin.so (the key
/// function), so its type information is unique across every loaded plugin and dynamic casts work.
/// The host holds instances through shared_ptrs that also keep the plugin library loaded.
class Instance {
public:
  virtual ~Instance();
  /// Releases resources; called once at shutdown in reverse init order. Calling it twice must
  /// return success. The default does nothing. Errors are logged, never fatal.
  virtual Status close();
};

} // namespace strata
