#include "content_format.hpp"

#include "table.hpp"

#include <fmt/format.h>

namespace strata::cli {

Result<LabelArg> parse_label_arg(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return invalid_argument(fmt::format("label \"{}\" is not KEY=VALUE (KEY= removes KEY)", text));
  return LabelArg{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

std::string check_label_arg(const std::string& text) {
  auto l = parse_label_arg(text);
  return l ? std::string() : l.error().message();
}

std::string human_size(std::int64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0)
    return fmt::format("{} B", bytes);
  // One decimal below 10, none above: "1.5 KiB", "20 MiB", like other tools print sizes.
  auto text = value < 10 ? fmt::format("{:.1f}", value) : fmt::format("{:.0f}", value);
  if (text.ends_with(".0"))
    text.resize(text.size() - 2);
  return text + " " + units[unit];
}

std::string human_age(Timestamp t, Timestamp now) {
  using namespace std::chrono;
  auto s = duration_cast<seconds>(now - t).count();
  if (s < 1)
    return "now";
  auto plural = [](long long n, const char* unit) {
    return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s");
  };
  if (s < 60)
    return plural(s, "second");
  if (s < 3600)
    return plural(s / 60, "minute");
  if (s < 86400)
    return plural(s / 3600, "hour");
  return plural(s / 86400, "day");
}

std::string labels_cell(const Labels& labels) {
  if (labels.empty())
    return "-";
  std::string out;
  for (const auto& [k, v] : labels)
    out += (out.empty() ? "" : ",") + k + "=" + v;
  return out;
}

std::string content_table(const std::vector<ContentInfo>& blobs, Timestamp now) {
  Table table({"DIGEST", "SIZE", "AGE", "LABELS"});
  for (const auto& b : blobs)
    table.add_row({b.digest, human_size(b.size), human_age(b.created, now), labels_cell(b.labels)});
  return table.render();
}

} // namespace strata::cli
