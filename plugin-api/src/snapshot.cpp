#include "strata/plugin/snapshot.hpp"

#include "json_fields.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace strata {
namespace {

// Length of the valid UTF-8 sequence at the start of `s`, or 0 when it is not one: overlong
// forms, surrogates (U+D800..U+DFFF) and code points past U+10FFFF are invalid (RFC 3629).
std::size_t utf8_sequence(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80)
    return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF; // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    lo = c == 0xE0 ? 0xA0 : 0x80;
    hi = c == 0xED ? 0x9F : 0xBF;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    lo = c == 0xF0 ? 0x90 : 0x80;
    hi = c == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (s.size() < n || b(1) < lo || b(1) > hi)
    return 0;
  for (std::size_t i = 2; i < n; ++i)
    if (b(i) < 0x80 || b(i) > 0xBF)
      return 0;
  return n;
}

} // namespace

Status check_snapshot_key(std::string_view key, std::string_view what) {
  if (key.empty())
    return invalid_argument(std::string(what) + " is empty; a snapshot key or name must not be");
  if (key.size() > max_snapshot_key_bytes)
    return invalid_argument(std::string(what) + " is " + std::to_string(key.size()) +
                            " bytes long; snapshot keys and names are at most " +
                            std::to_string(max_snapshot_key_bytes) + " bytes");
  for (std::size_t i = 0; i < key.size();) {
    if (key[i] == '\0')
      return invalid_argument(std::string(what) + " holds a NUL byte at offset " +
                              std::to_string(i) + "; snapshot keys and names cannot");
    const auto n = utf8_sequence(key.substr(i));
    if (n == 0)
      return invalid_argument(std::string(what) + " is not valid UTF-8 (at byte offset " +
                              std::to_string(i) + "); snapshot keys and names must be");
    i += n;
  }
  return {};
}

std::string_view to_string(Kind kind) noexcept {
  switch (kind) {
  case Kind::View:
    return "View";
  case Kind::Active:
    return "Active";
  case Kind::Committed:
    return "Committed";
  case Kind::Unknown:
    break;
  }
  return "Unknown";
}

std::optional<Kind> parse_kind(std::string_view text) noexcept {
  std::string lower;
  for (char c : text)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "view")
    return Kind::View;
  if (lower == "active")
    return Kind::Active;
  if (lower == "committed")
    return Kind::Committed;
  if (lower == "unknown")
    return Kind::Unknown;
  return std::nullopt;
}

std::string format_time(Timestamp t) {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  long frac = static_cast<long>(ns % 1'000'000'000);
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::optional<Timestamp> parse_time(std::string_view text) {
  std::string s(text);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 ||
      consumed != 19)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  long long frac = 0;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    int digits = 0;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, ++digits)
      if (digits < 9)
        frac = frac * 10 + (s[i] - '0');
    if (digits == 0)
      return std::nullopt;
    for (; digits < 9; ++digits)
      frac *= 10;
  }
  if (i + 1 != s.size() || s[i] != 'Z')
    return std::nullopt;
  std::time_t secs = timegm(&tm);
  // Past 2262 (or before 1677) the seconds do not fit in a nanosecond Timestamp: converting
  // them would overflow, so such a time is not one this type can hold.
  constexpr std::int64_t max_ns = Timestamp::duration::max().count();
  constexpr std::int64_t limit = max_ns / 1'000'000'000; // 9223372036
  if (secs > limit || secs < -limit || (secs == limit && frac > max_ns % 1'000'000'000))
    return std::nullopt;
  return Timestamp{} + std::chrono::duration_cast<Timestamp::duration>(
                           std::chrono::seconds(secs) + std::chrono::nanoseconds(frac));
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const Kind& k) {
  jv = to_string(k);
}

Kind tag_invoke(const json::value_to_tag<Kind>&, const json::value& jv) {
  auto k = parse_kind(jv.as_string());
  if (!k)
    throw std::invalid_argument("unknown snapshot kind \"" + std::string(jv.as_string()) + "\"");
  return *k;
}

namespace {
Timestamp time_field(const json::value& jv, std::string_view key) {
  auto text = detail::field_or<std::string>(jv, key, "");
  if (text.empty())
    return {};
  auto t = parse_time(text);
  if (!t)
    throw std::invalid_argument("field \"" + std::string(key) + "\" is not an RFC 3339 UTC time");
  return *t;
}
} // namespace

void tag_invoke(const json::value_from_tag&, json::value& jv, const Info& i) {
  json::object o{{"kind", json::value_from(i.kind)}, {"name", i.name}};
  if (!i.parent.empty())
    o["parent"] = i.parent;
  if (!i.labels.empty())
    o["labels"] = json::value_from(i.labels);
  o["created"] = format_time(i.created);
  o["updated"] = format_time(i.updated);
  jv = std::move(o);
}

Info tag_invoke(const json::value_to_tag<Info>&, const json::value& jv) {
  Info i;
  i.kind = detail::field_or<Kind>(jv, "kind", Kind::Unknown);
  i.name = detail::field_or<std::string>(jv, "name", "");
  i.parent = detail::field_or<std::string>(jv, "parent", "");
  i.labels = detail::field_or<Labels>(jv, "labels", {});
  i.created = time_field(jv, "created");
  i.updated = time_field(jv, "updated");
  return i;
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const Usage& u) {
  jv = {{"size", u.size}, {"inodes", u.inodes}};
}

Usage tag_invoke(const json::value_to_tag<Usage>&, const json::value& jv) {
  return {detail::field_or<std::int64_t>(jv, "size", 0),
          detail::field_or<std::int64_t>(jv, "inodes", 0)};
}

} // namespace strata
