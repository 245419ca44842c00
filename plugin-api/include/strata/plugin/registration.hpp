#pragma once
/// \file
/// Registration: how a plugin declares itself to the host, and the Registrar it declares to.

#include "strata/plugin/guard.hpp"
#include "strata/plugin/init_context.hpp"

#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace strata {

/// The outcome of a plugin's init: an instance, an error, or a deliberate skip.
class InitResult {
public:
  /// Success; `instance` must not be null (a null instance is reported as an error).
  InitResult(std::shared_ptr<Instance> instance) : v_(std::move(instance)) {}
  /// Failure: the plugin is reported as `error` with this code and message.
  InitResult(Error error) : v_(std::move(error)) {}
  /// The plugin is not loaded for an expected reason (unsupported filesystem, missing kernel
  /// feature, not configured). Reported as `skip` with the reason, at info level, not as a failure.
  static InitResult skip(std::string reason) { return InitResult(Skip{std::move(reason)}); }

  /// A template convenience so `return std::make_shared<MyPlugin>(...)` works.
  template <class T>
  requires std::is_base_of_v<Instance, T> InitResult(std::shared_ptr<T> instance)
      : v_(std::shared_ptr<Instance>(std::move(instance))) {}

  bool ok() const noexcept { return v_.index() == 0; }
  bool skipped() const noexcept { return v_.index() == 2; }
  bool failed() const noexcept { return v_.index() == 1; }
  /// Only when ok().
  const std::shared_ptr<Instance>& instance() const { return std::get<0>(v_); }
  /// Only when failed().
  const Error& error() const { return std::get<1>(v_); }
  /// Only when skipped().
  const std::string& skip_reason() const { return std::get<2>(v_).reason; }

private:
  struct Skip {
    std::string reason;
  };
  explicit InitResult(Skip s) : v_(std::move(s)) {}
  std::variant<std::shared_ptr<Instance>, Error, Skip> v_;
};

/// The init function of a plugin.
using InitFn = std::function<InitResult(InitContext&)>;

/// Marks an optional requires entry: "?<type>.<id>" is initialised before the plugin when it is
/// loaded, and its absence, failure or skip does not fail the plugin (InitContext::get then says
/// why it is not there). Only for a specific "<type>.<id>"; wildcards are optional already.
inline constexpr char optional_prefix = '?';

/// One plugin as the registry sees it.
struct Registration {
  std::string type; ///< plugin type (see strata::plugin_type); must not be empty
  std::string id;   ///< unique within the type; must not be empty
  std::string version;
  /// Dependencies, initialised first: "<type>.<id>" (must exist and be ok), "?<type>.<id>"
  /// (optional, see optional_prefix), "<type>.*" (every plugin of that type, may be none) or "*"
  /// alone (every other plugin).
  std::vector<std::string> requires_list;
  /// The plugin's config section with every key at its default, as TOML text (no table header).
  /// The operator's section may only set these keys, with the same types. Empty: no config.
  std::string config_defaults;
  /// Builds the instance. Must not be empty.
  InitFn init;

  /// "<type>.<id>".
  std::string uri() const { return type + "." + id; }
};

/// What a plugin registers with. Implemented by the host's registry; plugins never see it.
class Registrar {
public:
  virtual ~Registrar();

  /// Registers `r`. The init function is wrapped so that an exception it throws becomes an
  /// Internal error inside the plugin instead of crossing into the host.
  /// Errors: InvalidArgument (empty type or id, bad requires, no init), AlreadyExists (the URI is
  /// registered already; the message names both files).
  Status add(Registration r) {
    if (r.init) {
      r.init = [inner = std::move(r.init)](InitContext& ic) -> InitResult {
        return guard("init threw an exception", [&] { return inner(ic); });
      };
    }
    return do_add(std::move(r));
  }

protected:
  /// Implementation of add(); receives the wrapped registration.
  virtual Status do_add(Registration r) = 0;
};

} // namespace strata
