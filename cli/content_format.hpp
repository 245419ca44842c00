#pragma once
// `strata content`: label arguments and the human renderings of blobs.

#include "strata/plugin/content.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace strata::cli {

/// One KEY=VALUE argument; "KEY=" (empty value) is allowed and means "remove KEY".
struct LabelArg {
  std::string key;
  std::string value;
};

/// Parses KEY=VALUE. InvalidArgument when there is no '=' or the key is empty.
Result<LabelArg> parse_label_arg(std::string_view text);

/// parse_label_arg as a CLI11 validator: "" when `text` is good, else the reason.
std::string check_label_arg(const std::string& text);

/// 1536 -> "1.5 KiB", 20971520 -> "20 MiB", 512 -> "512 B".
std::string human_size(std::int64_t bytes);

/// How long ago `t` was at `now`: "5 seconds", "3 minutes", "2 hours", "4 days"; "now" for
/// under a second (and for times in the future, which clock skew can produce).
std::string human_age(Timestamp t, Timestamp now);

/// LABELS cell: "-" when none, else "k=v,k2=v2" in key order.
std::string labels_cell(const Labels& labels);

/// DIGEST SIZE AGE LABELS, aligned; ages relative to `now`.
std::string content_table(const std::vector<ContentInfo>& blobs, Timestamp now);

} // namespace strata::cli
