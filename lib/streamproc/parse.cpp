// Strict decoding of the `stream_processors` config table.
#include <strata/plugin/try.hpp>
#include <strata/streamproc/processor.hpp>

#include <optional>
#include <string_view>

namespace strata::streamproc {

namespace {

constexpr std::string_view kKnownKeys = "accepts, returns, path, args, env";

std::string_view kind_name(const json::value& v) {
  switch (v.kind()) {
  case json::kind::null:
    return "null";
  case json::kind::bool_:
    return "a boolean";
  case json::kind::int64:
  case json::kind::uint64:
  case json::kind::double_:
    return "a number";
  case json::kind::string:
    return "a string";
  case json::kind::array:
    return "a list";
  case json::kind::object:
    return "a table";
  }
  return "an unknown value";
}

Error wrong_type(const std::string& key, const json::value& v, std::string_view want) {
  return invalid_argument(key + " must be " + std::string(want) + ", not " +
                          std::string(kind_name(v)));
}

Result<std::string> string_value(const std::string& key, const json::value& v,
                                 std::string_view example) {
  if (!v.is_string())
    return wrong_type(key, v, "a string, e.g. " + std::string(example));
  std::string s(v.get_string());
  if (s.find('\0') != std::string::npos)
    return invalid_argument(key + " contains a NUL byte; remove it");
  return s;
}

Result<std::vector<std::string>> string_list(const std::string& key, const json::value& v,
                                             std::string_view example) {
  const std::string want = "a list of strings, e.g. " + std::string(example);
  if (!v.is_array())
    return wrong_type(key, v, want);
  std::vector<std::string> out;
  const json::array& a = v.get_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string item = key + "[" + std::to_string(i) + "]";
    if (!a[i].is_string())
      return invalid_argument(item + " must be a string, not " + std::string(kind_name(a[i])) +
                              "; " + key + " must be " + want);
    STRATA_TRY_ASSIGN(auto s, string_value(item, a[i], ""));
    out.push_back(std::move(s));
  }
  return out;
}

Status check_env(const std::string& key, const std::vector<std::string>& env) {
  for (std::size_t i = 0; i < env.size(); ++i) {
    const std::string item = key + "[" + std::to_string(i) + "]";
    auto eq = env[i].find('=');
    if (eq == std::string::npos || eq == 0)
      return invalid_argument(item + " is \"" + env[i] +
                              "\", not a \"NAME=value\" entry; write it as e.g. "
                              "\"OCICRYPT_KEYPROVIDER_CONFIG=/etc/strata/ocicrypt.conf\"");
    if (std::string_view(env[i]).substr(0, eq) == "STREAM_PROCESSOR_MEDIATYPE")
      return invalid_argument(item + " sets STREAM_PROCESSOR_MEDIATYPE, which strata sets to the "
                                     "input's media type for every run; remove it");
  }
  return {};
}

Result<ProcessorSpec> parse_one(const std::string& id, const json::value& v) {
  const std::string where = "stream_processors." + id;
  if (!v.is_object())
    return invalid_argument(where + " must be a table with keys " + std::string(kKnownKeys) +
                            ", not " + std::string(kind_name(v)));
  ProcessorSpec spec;
  spec.id = id;
  bool has_accepts = false, has_returns = false, has_path = false;
  for (const auto& field : v.get_object()) {
    const std::string name(field.key());
    const std::string key = where + "." + name;
    const json::value& fv = field.value();
    if (name == "accepts") {
      STRATA_TRY_ASSIGN(
          auto l,
          string_list(key, fv, "[\"application/vnd.oci.image.layer.v1.tar+gzip+encrypted\"]"));
      spec.accepts = std::move(l);
      has_accepts = true;
      if (spec.accepts.empty())
        return invalid_argument(key + " is empty; list the media types this processor converts");
      for (std::size_t i = 0; i < spec.accepts.size(); ++i)
        if (spec.accepts[i].empty())
          return invalid_argument(key + "[" + std::to_string(i) + "] is empty; write a media type");
    } else if (name == "returns") {
      STRATA_TRY_ASSIGN(auto s,
                        string_value(key, fv, "\"application/vnd.oci.image.layer.v1.tar+gzip\""));
      if (s.empty())
        return invalid_argument(key + " is empty; write the media type of the output");
      spec.returns = std::move(s);
      has_returns = true;
    } else if (name == "path") {
      STRATA_TRY_ASSIGN(auto s, string_value(key, fv, "\"/usr/local/bin/ctd-decoder\""));
      if (s.empty())
        return invalid_argument(key + " is empty; write the absolute path of the binary");
      spec.path = std::move(s);
      has_path = true;
    } else if (name == "args") {
      STRATA_TRY_ASSIGN(auto l,
                        string_list(key, fv, "[\"--decryption-keys-path\", \"/etc/strata/keys\"]"));
      spec.args = std::move(l);
    } else if (name == "env") {
      STRATA_TRY_ASSIGN(
          auto l,
          string_list(key, fv, "[\"OCICRYPT_KEYPROVIDER_CONFIG=/etc/strata/ocicrypt.conf\"]"));
      STRATA_TRY(check_env(key, l));
      spec.env = std::move(l);
    } else {
      return invalid_argument(key +
                              " is not a known key; remove it (the keys of a stream "
                              "processor are " +
                              std::string(kKnownKeys) + ")");
    }
  }
  if (!has_accepts)
    return invalid_argument(where + ".accepts is missing; list the media types this processor "
                                    "converts, e.g. accepts = "
                                    "[\"application/vnd.oci.image.layer.v1.tar+encrypted\"]");
  if (!has_returns)
    return invalid_argument(where + ".returns is missing; write the media type of its output, "
                                    "e.g. returns = \"application/vnd.oci.image.layer.v1.tar\"");
  if (!has_path)
    return invalid_argument(where + ".path is missing; write the absolute path of its binary, "
                                    "e.g. path = \"/usr/local/bin/ctd-decoder\"");
  return spec;
}

} // namespace

Result<std::vector<ProcessorSpec>> parse_processors(const json::object& table) {
  try {
    std::vector<ProcessorSpec> out;
    for (const auto& entry : table) {
      const std::string id(entry.key());
      if (id.empty())
        return invalid_argument("stream_processors has an entry with an empty id; name it "
                                "[stream_processors.<id>]");
      if (id.find('\0') != std::string::npos)
        return invalid_argument("stream_processors has an id containing a NUL byte; rename it");
      STRATA_TRY_ASSIGN(auto spec, parse_one(id, entry.value()));
      out.push_back(std::move(spec));
    }
    return out;
  } catch (const std::exception& e) {
    return internal_error(std::string("stream_processors: ") + e.what());
  }
}

} // namespace strata::streamproc
