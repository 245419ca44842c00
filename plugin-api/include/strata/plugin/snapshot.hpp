#pragma once
/// \file
/// Snapshot value types: Kind, Info, Usage.

#include "strata/plugin/error.hpp"
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

/// The longest snapshot key (or committed name) in bytes. 4096 bytes fit in a request target
/// even when every byte is percent-encoded (12 KiB of the API's 16 KiB header limit), so any key
/// that can be created can be named in a path to stat or remove it.
inline constexpr std::size_t max_snapshot_key_bytes = 4096;

/// The one rule for snapshot keys and committed names, checked wherever one is created or named:
/// non-empty, at most max_snapshot_key_bytes bytes, valid UTF-8 (no overlong forms, surrogates
/// or code points past U+10FFFF) and no NUL byte. Any other byte ('/', spaces, ...) is allowed.
/// `what` names the field in the message (e.g. "\"key\"", "parent").
/// Errors: InvalidArgument naming `what`, the rule broken and (for a readable key) the key.
Status check_snapshot_key(std::string_view key, std::string_view what);

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
/// Inverse of format_time (also accepts fewer fraction digits and no fraction); nullopt for a
/// malformed time or one a Timestamp cannot hold (before 1677 or after 2262).
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
