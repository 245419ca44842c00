#include "strata/plugin/differ.hpp"

#include "json_fields.hpp"

#include <chrono>
#include <stdexcept>

namespace strata {
namespace {

std::string epoch_range() {
  return "[0, " + std::to_string(max_source_date_epoch) +
         "] seconds since 1970 (1970-01-01T00:00:00Z to 2262-04-11T23:47:16Z)";
}

} // namespace

Result<Timestamp> source_date_epoch_of(std::int64_t seconds, std::string_view what) {
  if (seconds < 0 || seconds > max_source_date_epoch)
    return invalid_argument(std::string(what) + " = " + std::to_string(seconds) +
                            " is out of range: SOURCE_DATE_EPOCH must lie in " + epoch_range());
  return Timestamp{} + std::chrono::seconds(seconds);
}

Status check_source_date_epoch(Timestamp t, std::string_view what) {
  // Whole seconds, rounded down: the range's last second holds its fraction too.
  const auto secs = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  if (secs < 0 || secs > max_source_date_epoch)
    return invalid_argument(std::string(what) + " = " + format_time(t) +
                            " is out of range: SOURCE_DATE_EPOCH must lie in " + epoch_range());
  return {};
}

std::string_view to_string(ApplyTarget t) noexcept {
  switch (t) {
  case ApplyTarget::Mounts:
    return "mounts";
  case ApplyTarget::UpperdirUnknownLowers:
    return "upperdir-unknown-lowers";
  }
  return "unknown";
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const ApplyOptions& o) {
  json::object obj;
  if (!o.diff_id.empty())
    obj["diffID"] = o.diff_id;
  if (o.target != ApplyTarget::Mounts)
    obj["target"] = to_string(o.target);
  if (o.sync_fs)
    obj["syncFs"] = true;
  if (!o.processor_payloads.empty())
    obj["processorPayloads"] = json::value_from(o.processor_payloads);
  jv = std::move(obj);
}

ApplyOptions tag_invoke(const json::value_to_tag<ApplyOptions>&, const json::value& jv) {
  ApplyOptions o;
  o.diff_id = detail::field_or<std::string>(jv, "diffID", "");
  const auto target = detail::field_or<std::string>(jv, "target", "mounts");
  if (target == to_string(ApplyTarget::UpperdirUnknownLowers))
    o.target = ApplyTarget::UpperdirUnknownLowers;
  else if (target != to_string(ApplyTarget::Mounts))
    throw std::invalid_argument("field \"target\" is \"" + target +
                                "\": expected \"mounts\" or \"upperdir-unknown-lowers\"");
  o.sync_fs = detail::field_or<bool>(jv, "syncFs", false);
  o.processor_payloads =
      detail::field_or<std::map<std::string, std::string>>(jv, "processorPayloads", {});
  return o;
}

void tag_invoke(const json::value_from_tag&, json::value& jv, const CompareOptions& o) {
  json::object obj;
  if (!o.media_type.empty())
    obj["mediaType"] = o.media_type;
  if (!o.reference.empty())
    obj["reference"] = o.reference;
  if (!o.labels.empty())
    obj["labels"] = json::value_from(o.labels);
  if (o.source_date_epoch)
    obj["sourceDateEpoch"] = format_time(*o.source_date_epoch);
  jv = std::move(obj);
}

CompareOptions tag_invoke(const json::value_to_tag<CompareOptions>&, const json::value& jv) {
  CompareOptions o;
  o.media_type = detail::field_or<std::string>(jv, "mediaType", "");
  o.reference = detail::field_or<std::string>(jv, "reference", "");
  o.labels = detail::field_or<Labels>(jv, "labels", {});
  const auto* epoch = jv.as_object().if_contains("sourceDateEpoch");
  constexpr std::string_view what = "field \"sourceDateEpoch\"";
  Result<Timestamp> t = Timestamp{};
  if (!epoch || epoch->is_null())
    return o;
  if (epoch->is_int64()) {
    t = source_date_epoch_of(epoch->as_int64(), what);
  } else if (epoch->is_uint64()) {
    // Past INT64_MAX: out of range whatever it is, and never cast to a negative number.
    t = invalid_argument(std::string(what) + " = " + std::to_string(epoch->as_uint64()) +
                         " is out of range: SOURCE_DATE_EPOCH must lie in " + epoch_range());
  } else {
    auto parsed = parse_time(epoch->as_string());
    if (!parsed)
      throw std::invalid_argument(std::string(what) +
                                  " is neither an RFC 3339 UTC time nor integer seconds in " +
                                  epoch_range());
    t = *parsed;
    if (auto st = check_source_date_epoch(*parsed, what); !st)
      t = std::move(st).error();
  }
  if (!t)
    throw std::invalid_argument(t.error().message());
  o.source_date_epoch = *t;
  return o;
}

} // namespace strata
