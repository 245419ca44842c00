#pragma once
/// \file
/// InitContext: what the host hands a plugin's init function.

#include "strata/plugin/instance.hpp"
#include "strata/plugin/json.hpp"
#include "strata/plugin/logger.hpp"
#include "strata/plugin/meta.hpp"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace strata {

/// Property keys the host always sets in InitContext::properties().
namespace property {
inline constexpr const char* root = "strata.plugin.root";       ///< same as InitContext::root()
inline constexpr const char* state = "strata.plugin.state";     ///< same as InitContext::state()
inline constexpr const char* address = "strata.plugin.address"; ///< the API socket path
} // namespace property

/// Passed to a plugin's init. Implemented by the host; valid only during the init call.
class InitContext {
public:
  virtual ~InitContext();

  /// The plugin's URI, "<type>.<id>".
  virtual const std::string& uri() const = 0;
  /// Persistent directory for this plugin: <config root>/<type>.<id>. Not created by the host:
  /// the plugin creates it (with the mode it needs) if it uses it.
  virtual const std::string& root() const = 0;
  /// Runtime state directory: <config state>/<type>.<id>. Not created by the host either.
  virtual const std::string& state() const = 0;
  /// The plugin's config: its declared defaults with the operator's [plugins."<uri>"] section
  /// merged over them, already checked against the defaults' keys and types. Empty when the
  /// plugin declared no config.
  virtual const json::object& config() const = 0;
  /// Host properties (see strata::property).
  virtual const std::map<std::string, std::string>& properties() const = 0;
  /// Meta to fill: platforms, exports, capabilities. Starts empty.
  virtual Meta& meta() = 0;

  /// The instance of an initialised dependency by URI "<type>.<id>".
  /// Errors: NotFound when no such plugin is registered or it is not among this plugin's
  /// requires; FailedPrecondition when it failed or was skipped (the message says why).
  virtual Result<std::shared_ptr<Instance>> get(const std::string& uri) const = 0;
  /// Every successfully initialised plugin of `type`, as (id, instance) in init order; plugins of
  /// that type that failed or were skipped are left out. Errors: NotFound when there are none.
  virtual Result<std::vector<std::pair<std::string, std::shared_ptr<Instance>>>>
  get_by_type(const std::string& type) const = 0;

  /// The Meta (platforms, exports, capabilities) a dependency filled in during its init, e.g. to
  /// see whether a snapshotter can "rebase". Since ABI minor 1.
  /// Errors: as get(); NotImplemented from a context that does not know other plugins' Meta.
  virtual Result<Meta> dependency_meta(const std::string& uri) const;

  /// The plugin's logger: lines written to it go into the host's log with the plugin's
  /// "<type>.<id>" attached, filtered by the level the operator configured for the host (stratad:
  /// --log-level). Unlike the context itself it outlives init: keep the shared_ptr in the
  /// instance to log from any method or thread (see Logger). Never null. Since ABI minor 2.
  /// This default, for contexts that have no log (a test's fake context), returns null_logger():
  /// lines are dropped rather than written to stderr, which a host may not own.
  /// Errors: none.
  virtual std::shared_ptr<Logger> logger() const;

  /// get() and a checked cast to T. Errors: as get(), plus InvalidArgument when the instance does
  /// not implement T.
  template <class T> Result<std::shared_ptr<T>> get_as(const std::string& uri) const {
    auto r = get(uri);
    if (!r)
      return std::move(r).error();
    auto typed = std::dynamic_pointer_cast<T>(*r);
    if (!typed)
      return invalid_argument("plugin " + uri + " does not implement the requested interface");
    return typed;
  }
};

} // namespace strata
