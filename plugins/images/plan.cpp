#include "plan.hpp"

#include "chain.hpp"

#include <strata/digest/sha256.hpp>

#include <optional>
#include <set>

namespace strata::images {
namespace {

// Nested indexes deeper than this are refused: real images use one level, and each level costs
// a pass over a tar.
constexpr int max_depth = 4;

std::string annotated_name(const Descriptor& d) {
  for (const char* key : {image_annotation::containerd_name, image_annotation::ref_name})
    if (auto it = d.annotations.find(key); it != d.annotations.end() && !it->second.empty())
      return it->second;
  return {};
}

class Planner {
public:
  Planner(LayoutFiles& files, const PlanOptions& opts) : files_(files), opts_(opts) {}

  Result<Plan> run() {
    auto top = files_.read_small({"oci-layout", "index.json"}, opts_.max_bytes);
    if (!top)
      return std::move(top).error();
    if (auto st = check_layout_file(*top); !st)
      return std::move(st).error();
    auto it = top->find("index.json");
    if (it == top->end())
      return invalid_argument(files_.describe() + " is not an OCI image layout: it has no " +
                              "index.json");
    auto entries = parse_index_entries(it->second, "index.json in " + files_.describe());
    if (!entries)
      return std::move(entries).error();
    auto chosen = choose(*entries);
    if (!chosen)
      return std::move(chosen).error();

    // Each round resolves as far as the blobs read so far allow and asks for the next ones:
    // index -> nested index -> manifest -> config is at most max_depth + 2 rounds.
    for (int round = 0; round <= max_depth + 2; ++round) {
      plan_ = Plan{};
      wanted_.clear();
      for (const auto& [name, entry] : *chosen) {
        Image image;
        image.name = name;
        image.target = entry.desc;
        auto done = resolve(entry.desc, image.resolved, 0, "index.json", true);
        if (!done)
          return std::move(done).error();
        if (*done)
          plan_.images.push_back(std::move(image));
      }
      if (wanted_.empty())
        return std::move(plan_);
      std::set<std::string> names;
      for (const auto& [path, context] : wanted_)
        names.insert(path);
      auto got = files_.read_small(names, opts_.max_bytes);
      if (!got)
        return std::move(got).error();
      for (const auto& [path, context] : wanted_) {
        auto g = got->find(path);
        if (g == got->end())
          return invalid_argument("missing blob: " + context.digest + " (" + path + "), " +
                                  "referenced by " + context.where + ", is not in " +
                                  files_.describe());
        auto actual = digest::sha256_of(g->second);
        if (actual != context.digest)
          return invalid_argument("digest mismatch: " + path + " in " + files_.describe() +
                                  " hashes to " + actual + ", not " + context.digest);
        cache_.emplace(path, std::move(g->second));
      }
    }
    return internal_error("the import plan of " + files_.describe() + " did not converge");
  }

private:
  struct Wanted {
    std::string digest;
    std::string where;
  };

  Status check_layout_file(const std::map<std::string, std::string>& top) {
    auto it = top.find("oci-layout");
    if (it == top.end())
      return invalid_argument(files_.describe() + " is not an OCI image layout: it has no " +
                              "oci-layout file (a `docker save` tar of Docker < 25 is not " +
                              "supported; save with Docker >= 25 or convert with skopeo)");
    const std::string what = "oci-layout in " + files_.describe();
    auto v = parse_json(it->second, what);
    if (!v)
      return std::move(v).error();
    const json::value* version =
        v->is_object() ? v->as_object().if_contains("imageLayoutVersion") : nullptr;
    if (!version || !version->is_string())
      return invalid_argument(what + " has no \"imageLayoutVersion\" string");
    if (version->as_string() != layout_version)
      return invalid_argument(what + " says imageLayoutVersion \"" +
                              std::string(version->as_string()) + "\"; strata reads \"" +
                              layout_version + "\"");
    return {};
  }

  // (name, entry) pairs to import, by the rules of ImportOptions::name.
  Result<std::vector<std::pair<std::string, IndexEntry>>>
  choose(const std::vector<IndexEntry>& entries) {
    const std::string where = "index.json in " + files_.describe();
    if (entries.empty())
      return invalid_argument(where + " lists no images");
    std::vector<std::pair<std::string, IndexEntry>> out;
    if (!opts_.name.empty()) {
      if (auto st = validate_name(opts_.name); !st)
        return std::move(st).error();
      if (entries.size() == 1)
        return std::vector<std::pair<std::string, IndexEntry>>{{opts_.name, entries[0]}};
      std::string names;
      for (const auto& e : entries) {
        auto n = annotated_name(e.desc);
        if (n == opts_.name)
          out.emplace_back(opts_.name, e);
        names += (names.empty() ? "" : ", ") + (n.empty() ? "(unnamed)" : n);
      }
      if (out.size() == 1)
        return out;
      return invalid_argument(where + " lists " + std::to_string(entries.size()) + " entries (" +
                              names + "); --name must be the annotated name " +
                              "of exactly one of them");
    }
    std::set<std::string> seen;
    for (const auto& e : entries) {
      auto n = annotated_name(e.desc);
      if (n.empty())
        return invalid_argument("entry " + e.desc.digest + " of " + where + " has no name " +
                                "annotation (" + image_annotation::ref_name + " or " +
                                image_annotation::containerd_name + "); give the image a " +
                                "name with --name");
      if (auto st = validate_name(n); !st)
        return st.error().wrap("entry " + e.desc.digest + " of " + where);
      if (!seen.insert(n).second)
        return invalid_argument(where + " names two entries \"" + n + "\"");
      out.emplace_back(n, e);
    }
    return out;
  }

  // The verified bytes of `d`, or null when they are not read yet (then they are wanted).
  Result<const std::string*> blob(const Descriptor& d, const std::string& where) {
    const auto path = blob_path(d.digest);
    if (d.size > static_cast<std::int64_t>(opts_.max_bytes))
      return invalid_argument("oversized manifest: " + d.digest + " (" + path + " in " +
                              files_.describe() + "), referenced by " + where + ", is " +
                              std::to_string(d.size) + " bytes; manifests, indexes and configs " +
                              "may have at most " + std::to_string(opts_.max_bytes) +
                              " bytes (max_manifest_bytes)");
    auto it = cache_.find(path);
    if (it == cache_.end()) {
      wanted_.emplace(path, Wanted{d.digest, where});
      return static_cast<const std::string*>(nullptr);
    }
    if (static_cast<std::int64_t>(it->second.size()) != d.size)
      return invalid_argument("size mismatch: " + path + " in " + files_.describe() + " is " +
                              std::to_string(it->second.size()) + " bytes, but " + where +
                              " says " + std::to_string(d.size));
    return &it->second;
  }

  // Resolves `d` into `out`; false while blobs it needs are not read yet.
  Result<bool> resolve(const Descriptor& d, ImageManifest& out, int depth, const std::string& where,
                       bool top) {
    auto kind = classify(d.media_type, "blob " + d.digest + " in " + where);
    if (!kind)
      return std::move(kind).error();
    if (*kind == BlobKind::Index)
      return resolve_index(d, out, depth, where);
    if (*kind == BlobKind::Manifest)
      return resolve_manifest(d, out, where, top);
    return invalid_argument("blob " + d.digest + " in " + where + " has media type " +
                            d.media_type + ": expected a manifest or an index");
  }

  Result<bool> resolve_index(const Descriptor& d, ImageManifest& out, int depth,
                             const std::string& where) {
    if (depth >= max_depth)
      return invalid_argument("index " + d.digest + " in " + files_.describe() + " is nested " +
                              "more than " + std::to_string(max_depth) + " levels deep");
    auto bytes = blob(d, where);
    if (!bytes)
      return std::move(bytes).error();
    if (!*bytes)
      return false;
    const std::string what = "index " + d.digest + " (" + blob_path(d.digest) + ")";
    auto entries = parse_index_entries(**bytes, what);
    if (!entries)
      return std::move(entries).error();
    plan_.metadata.emplace(d.digest, std::make_pair(d, **bytes));
    std::string available;
    std::optional<Error> inner_miss;
    for (const auto& e : *entries) {
      auto kind = classify(e.desc.media_type, "entry " + e.desc.digest + " of " + what);
      if (!kind)
        return std::move(kind).error();
      if (!e.platform) {
        // An index entry may carry no platform (it spans several): look inside it. A manifest
        // with no platform cannot be chosen for one.
        if (*kind != BlobKind::Index)
          continue;
        auto inner = resolve(e.desc, out, depth + 1, what, false);
        if (inner || inner.error().code() != Code::NotFound)
          return inner;
        inner_miss = std::move(inner).error(); // says which platforms that index has
        continue;
      }
      available += (available.empty() ? "" : ", ") + e.platform->to_string();
      if ((*kind == BlobKind::Manifest || *kind == BlobKind::Index) &&
          platform_matches(opts_.platform, *e.platform))
        return resolve(e.desc, out, depth + 1, what, false);
    }
    if (inner_miss && available.empty())
      return std::move(*inner_miss);
    return not_found("platform not found: " + what + " in " + files_.describe() +
                     " has no manifest for " + opts_.platform.to_string() +
                     " (it has: " + (available.empty() ? "none with a platform" : available) +
                     "); choose one with --platform");
  }

  Result<bool> resolve_manifest(const Descriptor& d, ImageManifest& out, const std::string& where,
                                bool top) {
    auto bytes = blob(d, where);
    if (!bytes)
      return std::move(bytes).error();
    if (!*bytes)
      return false;
    const std::string what = "manifest " + d.digest + " (" + blob_path(d.digest) + ")";
    auto manifest = parse_manifest(**bytes, what);
    if (!manifest)
      return std::move(manifest).error();
    Descriptor& config = manifest->config;
    std::vector<Descriptor>& layers = manifest->layers;
    plan_.metadata.emplace(d.digest, std::make_pair(d, **bytes));

    auto config_bytes = blob(config, what);
    if (!config_bytes)
      return std::move(config_bytes).error();
    if (!*config_bytes)
      return false;
    const std::string cwhat = "config " + config.digest + " (" + blob_path(config.digest) + ")";
    auto parsed_config = parse_config(**config_bytes, cwhat);
    if (!parsed_config)
      return std::move(parsed_config).error();
    Platform& platform = parsed_config->platform;
    std::vector<std::string>& ids = parsed_config->diff_ids;
    if (ids.size() != layers.size())
      return invalid_argument("diff_ids count mismatch: " + cwhat + " lists " +
                              std::to_string(ids.size()) + " rootfs.diff_ids but " + what +
                              " has " + std::to_string(layers.size()) + " layers");
    // A manifest named directly by index.json was not chosen by platform: its config says
    // what it is built for.
    if (top && !platform_matches(opts_.platform, platform))
      return not_found("platform not found: " + what + " in " + files_.describe() +
                       " is built for " + platform.to_string() + ", not " +
                       opts_.platform.to_string() + "; choose it with --platform " +
                       platform.to_string());
    plan_.metadata.emplace(config.digest, std::make_pair(config, **config_bytes));
    for (const auto& l : layers)
      plan_.layers.emplace(l.digest, l);
    auto chain = chain_ids(ids);
    out =
        ImageManifest{std::move(platform), d, std::move(config), std::move(layers), std::move(ids),
                      std::move(chain)};
    return true;
  }

  LayoutFiles& files_;
  const PlanOptions& opts_;
  std::map<std::string, std::string> cache_; // verified blob bytes by path
  std::map<std::string, Wanted> wanted_;     // blobs to read next round, by path
  Plan plan_;
};

} // namespace

std::string blob_path(const std::string& digest) {
  return "blobs/sha256/" + digest.substr(digest.find(':') + 1);
}

bool platform_matches(const Platform& want, const Platform& have) {
  if (want.os != have.os || want.architecture != have.architecture)
    return false;
  if (want.variant.empty())
    return true;
  auto normal = [](const Platform& p) {
    return p.variant.empty() && p.architecture == "arm64" ? std::string("v8") : p.variant;
  };
  return normal(want) == normal(have);
}

Status validate_name(const std::string& name) {
  if (name.empty())
    return invalid_argument("an image name must not be empty");
  if (name.size() > 1024)
    return invalid_argument("image name \"" + name.substr(0, 64) + "...\" is longer than 1024 " +
                            "bytes");
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f)
      return invalid_argument("image name \"" + name + "\" holds a control character");
  return {};
}

Result<Plan> plan_import(LayoutFiles& files, const PlanOptions& opts) {
  return Planner(files, opts).run();
}

} // namespace strata::images
