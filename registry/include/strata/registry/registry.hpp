#pragma once
/// \file
/// The registration singleton. It lives in exactly one shared object (libstrata-registry.so) that
/// only the host links; plugins never see it, they see a strata::Registrar.

#include "strata/plugin/registration.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace strata::registry {

/// A registration and where it came from.
struct Entry {
  Registration registration;
  std::string origin;            ///< the plugin file, or "<builtin>"
  std::shared_ptr<void> library; ///< keeps the origin's library loaded (may be null)
};

/// Process-wide list of registrations in registration order.
class Registry {
public:
  /// The singleton, constructed on first use and never destroyed, so no static destructor can
  /// run after a plugin library it refers to.
  static Registry& instance();

  /// Validates and appends a registration.
  /// Errors: InvalidArgument (empty type or id, no init function, a requires entry that is not
  /// "*", "<type>.*", "<type>.<id>" or "?<type>.<id>", "*" together with other entries, the
  /// plugin requiring itself); AlreadyExists (same "<type>.<id>" registered before; names both
  /// origins).
  Status add(Registration r, std::string origin, std::shared_ptr<void> library = nullptr);

  /// A snapshot of every registration, in registration order.
  std::vector<Entry> entries() const;

  /// Removes every registration (tests only).
  void reset();

private:
  Registry() = default;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

/// The Registrar handed to one plugin file's register function: it forwards to a Registry with
/// the file as origin and remembers what was registered, so the loader can tell whether the file
/// registered what its descriptor declared.
class OriginRegistrar final : public Registrar {
public:
  OriginRegistrar(Registry& registry, std::string origin, std::shared_ptr<void> library);

  /// URIs registered successfully through this registrar.
  const std::vector<std::string>& registered() const { return registered_; }
  /// Errors returned by the registry for this origin's registrations.
  const std::vector<Error>& refused() const { return refused_; }

protected:
  Status do_add(Registration r) override;

private:
  Registry& registry_;
  std::string origin_;
  std::shared_ptr<void> library_;
  std::vector<std::string> registered_;
  std::vector<Error> refused_;
};

} // namespace strata::registry
