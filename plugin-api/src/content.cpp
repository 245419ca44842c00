#include "strata/plugin/content.hpp"

#include "json_fields.hpp"

namespace strata {

void tag_invoke(const json::value_from_tag&, json::value& jv, const ContentInfo& i) {
  json::object o{{"digest", i.digest},
                 {"size", i.size},
                 {"created", format_time(i.created)},
                 {"updated", format_time(i.updated)}};
  if (!i.labels.empty())
    o["labels"] = json::value_from(i.labels);
  jv = std::move(o);
}

ContentInfo tag_invoke(const json::value_to_tag<ContentInfo>&, const json::value& jv) {
  ContentInfo i;
  i.digest = detail::field<std::string>(jv, "digest");
  i.size = detail::field<std::int64_t>(jv, "size");
  auto created = parse_time(detail::field_or<std::string>(jv, "created", ""));
  auto updated = parse_time(detail::field_or<std::string>(jv, "updated", ""));
  i.created = created.value_or(Timestamp{});
  i.updated = updated.value_or(Timestamp{});
  i.labels = detail::field_or<Labels>(jv, "labels", {});
  return i;
}

} // namespace strata
