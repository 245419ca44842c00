#include "strata/plugin/differ.hpp"

#include "json_fields.hpp"

#include <chrono>

namespace strata {

void tag_invoke(const json::value_from_tag&, json::value& jv, const ApplyOptions& o) {
  json::object obj;
  if (!o.diff_id.empty())
    obj["diffID"] = o.diff_id;
  if (o.sync_fs)
    obj["syncFs"] = true;
  if (!o.processor_payloads.empty())
    obj["processorPayloads"] = json::value_from(o.processor_payloads);
  jv = std::move(obj);
}

ApplyOptions tag_invoke(const json::value_to_tag<ApplyOptions>&, const json::value& jv) {
  ApplyOptions o;
  o.diff_id = detail::field_or<std::string>(jv, "diffID", "");
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
  if (epoch && epoch->is_int64()) {
    o.source_date_epoch = Timestamp{} + std::chrono::seconds(epoch->as_int64());
  } else if (epoch && epoch->is_uint64()) {
    o.source_date_epoch =
        Timestamp{} + std::chrono::seconds(static_cast<std::int64_t>(epoch->as_uint64()));
  } else if (epoch && !epoch->is_null()) {
    auto t = parse_time(epoch->as_string());
    if (!t)
      throw std::invalid_argument(
          "field \"sourceDateEpoch\" is neither an RFC 3339 UTC time nor integer seconds");
    o.source_date_epoch = *t;
  }
  return o;
}

} // namespace strata
