#include "config.hpp"

namespace strata::walking {

namespace {

Result<std::int64_t> non_negative(const json::object& section, const char* key) {
  const auto* v = section.if_contains(key);
  if (!v)
    return 0;
  if (!v->is_int64() || v->as_int64() < 0)
    return invalid_argument(std::string("walking differ: ") + key + " = " + json::serialize(*v) +
                            ": must be a non-negative integer");
  return v->as_int64();
}

// The host has checked the type against the defaults; a missing key keeps `fallback`.
bool flag(const json::object& section, const char* key, bool fallback = false) {
  const auto* v = section.if_contains(key);
  return v && v->is_bool() ? v->as_bool() : fallback;
}

} // namespace

Result<Config> decode(const json::object& section) {
  Config c;
  c.no_same_owner = flag(section, "no_same_owner");
  if (const auto* v = section.if_contains("xattr_errors")) {
    const std::string_view policy = v->is_string() ? std::string_view(v->as_string()) : "";
    if (policy == "fail")
      c.xattr_errors = archive::XattrPolicy::Fail;
    else if (policy != "warn")
      return invalid_argument("walking differ: xattr_errors = " + json::serialize(*v) +
                              ": must be \"warn\" or \"fail\"");
  }
  if (const auto* v = section.if_contains("gzip_decoder")) {
    const std::string_view decoder = v->is_string() ? std::string_view(v->as_string()) : "";
    if (decoder == "isal")
      c.gzip_decoder = archive::GzipDecoder::Isal;
    else if (decoder == "zlib")
      c.gzip_decoder = archive::GzipDecoder::Zlib;
    else
      return invalid_argument("walking differ: gzip_decoder = " + json::serialize(*v) +
                              ": must be \"isal\" or \"zlib\"");
  }
  c.decompress_thread = flag(section, "decompress_thread", true);
  auto max_bytes = non_negative(section, "max_layer_bytes");
  if (!max_bytes)
    return std::move(max_bytes).error();
  c.max_layer_bytes = static_cast<std::uint64_t>(*max_bytes);
  auto timeout = non_negative(section, "processor_timeout_seconds");
  if (!timeout)
    return std::move(timeout).error();
  if (section.contains("processor_timeout_seconds"))
    c.processor_timeout = std::chrono::seconds(*timeout);
  if (const auto* sp = section.if_contains("stream_processors"); sp && sp->is_object()) {
    auto specs = streamproc::parse_processors(sp->as_object());
    if (!specs)
      return std::move(specs).error().wrap("walking differ");
    c.processors = std::move(*specs);
  }
  return c;
}

} // namespace strata::walking
