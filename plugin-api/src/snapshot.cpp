#include "strata/plugin/snapshot.hpp"

#include "json_fields.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace strata {

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
