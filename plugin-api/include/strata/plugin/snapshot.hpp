#pragma once
/// \file
/// Snapshot value types: Kind, Info, Usage.

#include "strata/plugin/json.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace strata {

/// What a snapshot is. Active snapshots are writable and can be committed; views cannot.
enum class Kind { Unknown = 0, View = 1, Active = 2, Committed = 3 };

/// "View", "Active", "Committed" or "Unknown".
std::string_view to_string(Kind kind) noexcept;
/// Case-insensitive inverse of to_string(Kind); nullopt for anything else.
std::optional<Kind> parse_kind(std::string_view text) noexcept;

/// Labels: string keys and values; empty values are never stored.
using Labels = std::map<std::string, std::string>;

/// Time stamps are UTC.
using Timestamp = std::chrono::system_clock::time_point;

/// Metadata of one snapshot.
struct Info {
  Kind kind = Kind::Unknown;
  std::string name;   ///< the key (active/view) or name (committed)
  std::string parent; ///< committed parent name; empty for none
  Labels labels;
  Timestamp created{};
  Timestamp updated{};
  bool operator==(const Info&) const = default;
};

/// Disk usage of a snapshot itself, excluding its parents.
struct Usage {
  std::int64_t size = 0;   ///< bytes
  std::int64_t inodes = 0; ///< inodes
  bool operator==(const Usage&) const = default;
  /// Adds both fields of `other`.
  Usage& operator+=(const Usage& other) {
    size += other.size;
    inodes += other.inodes;
    return *this;
  }
};

/// RFC 3339 UTC with nanoseconds, e.g. "2026-11-23T02:46:09.123456789Z".
std::string format_time(Timestamp t);
/// Inverse of format_time (also accepts fewer fraction digits and no fraction).
std::optional<Timestamp> parse_time(std::string_view text);

/// JSON: Kind as its name.
void tag_invoke(const json::value_from_tag&, json::value& jv, const Kind& k);
Kind tag_invoke(const json::value_to_tag<Kind>&, const json::value& jv);
/// JSON: {"kind","name","parent"?,"labels"?,"created","updated"}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const Info& i);
Info tag_invoke(const json::value_to_tag<Info>&, const json::value& jv);
/// JSON: {"size","inodes"}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const Usage& u);
Usage tag_invoke(const json::value_to_tag<Usage>&, const json::value& jv);

} // namespace strata
