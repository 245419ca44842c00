#include "config.hpp"

namespace strata::lcow {

namespace {

// The host has checked types against the defaults; values are ours to check.
Status positive(const json::object& section, const char* key, std::uint64_t& out) {
  const auto* v = section.if_contains(key);
  if (!v)
    return {};
  if (!v->is_int64() || v->as_int64() <= 0)
    return invalid_argument(std::string("lcow differ: ") + key + " = " + json::serialize(*v) +
                            ": must be a positive integer (bytes)");
  out = static_cast<std::uint64_t>(v->as_int64());
  return {};
}

} // namespace

Result<Config> decode(const json::object& section) {
  Config c;
  STRATA_TRY(positive(section, "max_file_bytes", c.max_file_bytes));
  STRATA_TRY(positive(section, "max_image_bytes", c.max_image_bytes));
  if (const auto* v = section.if_contains("append_dm_verity"); v && v->is_bool() && v->as_bool())
    return invalid_argument("lcow differ: append_dm_verity = true: the dm-verity hash tree is not "
                            "implemented yet; set append_dm_verity = false");
  std::uint64_t timeout = 300;
  STRATA_TRY(positive(section, "processor_timeout_seconds", timeout));
  c.processor_timeout = std::chrono::seconds(timeout);
  if (const auto* sp = section.if_contains("stream_processors"); sp && sp->is_object()) {
    auto specs = streamproc::parse_processors(sp->as_object());
    if (!specs)
      return std::move(specs).error().wrap("lcow differ");
    c.processors = std::move(*specs);
  }
  return c;
}

} // namespace strata::lcow
