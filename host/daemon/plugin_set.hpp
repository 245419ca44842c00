#pragma once
// The initialised plugins of a running host: init in graph order, status records, lookup, and
// close in reverse order.

#include "loader/loader.hpp"
#include "record/plugin_record.hpp"
#include "strata/plugin/registration.hpp"
#include "strata/plugin/try.hpp"
#include "strata/registry/graph.hpp"

#include <boost/core/demangle.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <typeinfo>
#include <vector>

namespace strata::host {

/// What the host gives every plugin.
struct PluginSetOptions {
  std::string root;    ///< config root; a plugin's root is <root>/<uri>
  std::string state;   ///< config state; a plugin's state is <state>/<uri>
  std::string address; ///< API socket path, passed as a property
  /// The plugin's effective config (defaults merged with the operator's section).
  std::function<Result<json::object>(const Registration&)> config_for;
  /// How long one plugin's init may take. A plugin that does not return in time is reported as
  /// an error and left running on its own thread, so one stuck plugin cannot hang the host.
  std::chrono::milliseconds init_timeout{std::chrono::seconds(60)};
  /// Polled while plugins initialise; when it returns true (a stop signal arrived) the plugin
  /// being initialised is abandoned as Cancelled and no further plugin is initialised.
  std::function<bool()> should_stop;
};

/// Every plugin the host knows about, with its outcome.
class PluginSet {
public:
  /// Records file-level failures (refused, unloadable, unregistered files) as error records.
  void add_file_failures(const std::vector<FileOutcome>& outcomes);

  /// Initialises `nodes` in order. A plugin with a graph problem is an error; a plugin whose
  /// explicitly required dependency failed is an error that names the root cause (or a skip when
  /// the dependency was skipped); otherwise its init runs and its outcome is recorded.
  void initialise(const std::vector<registry::Node>& nodes, const PluginSetOptions& options);

  /// Records in init order, then file-level failures in file order.
  std::vector<PluginRecord> records() const;

  /// The record of `uri`, if any plugin of that URI was seen (initialised, or a file failure).
  const PluginRecord* find(const std::string& uri) const;

  /// The instance of an ok plugin, or null.
  std::shared_ptr<Instance> instance(const std::string& uri) const;

  /// The instance of plugin `uri` ("type.id"). Errors: NotFound when no plugin of that URI was
  /// seen; FailedPrecondition naming its status and reason when it failed or was skipped.
  Result<std::shared_ptr<Instance>> get(const std::string& uri) const;

  /// The instance of plugin `uri` as the interface T. Errors: as get(); InvalidArgument when the
  /// plugin is ok but does not implement T.
  template <class T> Result<std::shared_ptr<T>> get_as(const std::string& uri) const {
    STRATA_TRY_ASSIGN(auto any, get(uri));
    if (auto typed = std::dynamic_pointer_cast<T>(any))
      return typed;
    return invalid_argument("plugin " + uri + " is ok but does not implement " +
                            boost::core::demangle(typeid(T).name()));
  }

  /// The URIs of the plugins of `type`, in the order of records().
  std::vector<std::string> uris_of(const std::string& type) const;

  /// Calls close() on every ok instance in reverse init order, then releases them.
  void close_all();

private:
  struct Slot {
    PluginRecord record;
    std::string root_cause; // "<uri>: <reason>" of the plugin whose failure this one inherits
    std::shared_ptr<Instance> instance;
  };
  void init_one(const registry::Node& node, const PluginSetOptions& options);
  Slot* slot(const std::string& uri);

  std::vector<Slot> slots_;                  // init order
  std::map<std::string, std::size_t> index_; // uri -> slots_ index
  std::vector<PluginRecord> file_failures_;
};

/// A PluginSet::get/get_as error as the API answers it: a plugin that failed or was skipped
/// makes its routes Unavailable (503: the operator's fix, then a restart), one that is ok without
/// the interface is Internal (a plugin bug); NotFound and the rest pass unchanged.
Error route_error(const Error& e);

} // namespace strata::host
