#include "record/plugin_record.hpp"

// The SDK's private field helpers (plugin-api/src, not installed): the record reads its fields
// as the SDK's own value types do, with the same "missing field" messages.
#include "json_fields.hpp"

namespace strata::host {

std::string_view to_string(PluginStatus s) noexcept {
  switch (s) {
  case PluginStatus::Ok:
    return "ok";
  case PluginStatus::Skip:
    return "skip";
  case PluginStatus::Error:
    break;
  }
  return "error";
}

namespace {
PluginStatus parse_status(const std::string& s) {
  if (s == "ok")
    return PluginStatus::Ok;
  if (s == "skip")
    return PluginStatus::Skip;
  if (s == "error")
    return PluginStatus::Error;
  throw std::invalid_argument("unknown plugin status \"" + s + "\"");
}
} // namespace

// The record is flat on the wire (Meta's fields sit next to type and id), like containerd's
// introspection output, so Meta's own conversion is reused and its fields merged in.
void tag_invoke(const json::value_from_tag&, json::value& jv, const PluginRecord& r) {
  json::object o{{"type", r.type},
                 {"id", r.id},
                 {"version", r.version},
                 {"requires", json::value_from(r.requires_list)}};
  json::value meta = json::value_from(r.meta);
  for (auto& [k, v] : meta.as_object())
    o[k] = v;
  o["status"] = to_string(r.status);
  o["reason"] = r.reason;
  o["error_code"] = r.error_code;
  o["file"] = r.file;
  jv = std::move(o);
}

PluginRecord tag_invoke(const json::value_to_tag<PluginRecord>&, const json::value& jv) {
  PluginRecord r;
  r.type = detail::field<std::string>(jv, "type");
  r.id = detail::field<std::string>(jv, "id");
  r.version = detail::field_or<std::string>(jv, "version", "");
  r.requires_list = detail::field_or<std::vector<std::string>>(jv, "requires", {});
  r.meta = json::value_to<Meta>(jv);
  r.status = parse_status(detail::field<std::string>(jv, "status"));
  r.reason = detail::field_or<std::string>(jv, "reason", "");
  r.error_code = detail::field_or<std::string>(jv, "error_code", "");
  r.file = detail::field_or<std::string>(jv, "file", "");
  return r;
}

} // namespace strata::host
