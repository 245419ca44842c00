#include "sidecar.hpp"

#include <strata/fs/posix.hpp>

#include <strata/plugin/json.hpp>

#include <cerrno>
#include <unistd.h>

namespace strata::content {

Result<std::optional<Sidecar>> read_sidecar(const Layout& layout, std::string_view hex) {
  const std::string path = layout.labels + "/" + Layout::labels_name(hex);
  auto text = fs::read_small_file(path);
  if (!text) {
    if (text.error().code() == Code::NotFound)
      return std::optional<Sidecar>{};
    return std::move(text).error();
  }
  auto corrupt = [&](const std::string& why) {
    return Error(Code::DataLoss, "content: label file " + path + " is corrupt (" + why +
                                     "); remove it or restore it from a backup");
  };
  auto parsed = parse_json(*text, path);
  if (!parsed)
    return corrupt(parsed.error().message());
  const json::object* obj = parsed->if_object();
  if (!obj)
    return corrupt("not a JSON object");
  Sidecar s;
  if (const json::value* labels = obj->if_contains("labels")) {
    auto l = from_json<Labels>(*labels, "labels");
    if (!l)
      return corrupt(l.error().message());
    s.labels = std::move(*l);
  }
  if (const json::value* updated = obj->if_contains("updated")) {
    const json::string* str = updated->if_string();
    auto t = str ? parse_time(*str) : std::nullopt;
    if (!t)
      return corrupt("\"updated\" is not an RFC 3339 time");
    s.updated = *t;
  }
  return std::optional<Sidecar>(std::move(s));
}

Status write_sidecar(const Layout& layout, std::string_view hex, const Sidecar& sidecar) {
  json::object obj{{"labels", json::value_from(sidecar.labels)},
                   {"updated", format_time(sidecar.updated)}};
  return fs::write_file_atomic(layout.labels, Layout::labels_name(hex), json::serialize(obj), 0600);
}

Status remove_sidecar(const Layout& layout, std::string_view hex) {
  const std::string path = layout.labels + "/" + Layout::labels_name(hex);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT)
      return {};
    return fs::sys_error("cannot remove " + path, errno);
  }
  return fs::fsync_dir(layout.labels);
}

} // namespace strata::content
