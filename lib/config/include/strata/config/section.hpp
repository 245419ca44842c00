#pragma once
/// \file
/// The errors a plugin's config decoder returns, worded one way for every plugin: each names the
/// TOML section, the key and what the key must be, so the operator finds the line to fix.

#include <strata/plugin/error.hpp>
#include <strata/plugin/json.hpp>

#include <string>
#include <string_view>

namespace strata::config {

/// One plugin's [plugins."<uri>"] section, for its decoder's messages.
class Section {
public:
  /// The section of the plugin `uri` ("strata.snapshotter.v1.native").
  explicit Section(std::string_view uri);

  /// `[plugins."<uri>"]`, as the operator writes it.
  const std::string& name() const noexcept { return name_; }

  /// InvalidArgument "<section>: <key> = <value as JSON>: must be <want>".
  Error bad_value(std::string_view key, const json::value& value, std::string_view want) const;

  /// InvalidArgument "<section>: unknown key "<key>" (known: <known>)".
  Error unknown_key(std::string_view key, std::string_view known) const;

private:
  std::string name_;
};

} // namespace strata::config
