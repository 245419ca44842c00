#include "service.hpp"

#include "layout.hpp"
#include "plan.hpp"

#include <strata/contentio/ingest.hpp>
#include <strata/fs/posix.hpp>
#include <strata/plugin/filters.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <set>

namespace strata::images {
namespace {

// A string as a Source.
contentio::Source string_source(const std::string& data) {
  return [&data, offset = std::size_t(0)](std::span<std::byte> buf) mutable -> Result<std::size_t> {
    std::size_t n = std::min(buf.size(), data.size() - offset);
    std::memcpy(buf.data(), data.data() + offset, n);
    offset += n;
    return n;
  };
}

// A content store refusal of a layout's blob is the layout's fault (the bytes do not match the
// descriptor): InvalidArgument, naming the blob and the file it came from.
Error blob_error(const Error& e, const Descriptor& d, const std::string& file) {
  const Code code = e.code() == Code::FailedPrecondition ? Code::InvalidArgument : e.code();
  return Error(code, "blob " + d.digest + " (" + file + "): " + e.message());
}

} // namespace

Result<Config> decode(const json::object& section) {
  Config c;
  if (const auto* v = section.if_contains("max_manifest_bytes")) {
    if (!v->is_int64() || v->as_int64() <= 0)
      return invalid_argument("images service: max_manifest_bytes in [plugins.\"strata.service." +
                              std::string("v1.images\"] must be a positive number of bytes"));
    c.max_manifest_bytes = static_cast<std::size_t>(v->as_int64());
  }
  if (const auto* v = section.if_contains("sync_fs")) {
    if (!v->is_bool())
      return invalid_argument("images service: sync_fs in [plugins.\"strata.service.v1.images\"] "
                              "must be true or false");
    c.sync_fs = v->as_bool();
  }
  if (const auto* v = section.if_contains("max_parallel_layers")) {
    if (!v->is_int64() || v->as_int64() <= 0 || v->as_int64() > 256)
      return invalid_argument("images service: max_parallel_layers in [plugins.\"strata.service."
                              "v1.images\"] must be a number from 1 to 256");
    c.max_parallel_layers = static_cast<std::size_t>(v->as_int64());
  }
  return c;
}

ImagesService::ImagesService(std::shared_ptr<ContentStore> store, RecordStore records,
                             Config config, UnpackEnvironment unpack)
    : store_(std::move(store)), records_(std::move(records)), config_(config),
      unpack_(std::move(unpack)) {
  unpack_.sync_fs = unpack_.sync_fs || config_.sync_fs;
  unpack_.max_parallel = config_.max_parallel_layers;
}

Result<std::vector<Image>> ImagesService::import_layout(const std::string& path,
                                                        const ImportOptions& opts) {
  auto files = open_layout(path);
  if (!files)
    return std::move(files).error();
  PlanOptions popts{opts.name, opts.platform.value_or(Platform::host()),
                    config_.max_manifest_bytes};
  auto plan = plan_import(**files, popts);
  if (!plan)
    return std::move(plan).error();

  // A ref of our own per import: two imports sharing a blob never collide on a ref, and the
  // store settles which commit wins (the loser gets AlreadyExists, which ingest treats as done).
  auto id = fs::random_hex(8);
  if (!id)
    return std::move(id).error();
  const std::string ref_prefix = "images-import-" + *id + "-";
  const std::string& where = (*files)->describe();

  // Layers first, then configs and manifests, then indexes: a blob that points at others goes
  // in after them, the order a future garbage collector walking down from records expects.
  std::map<std::string, const Descriptor*> by_path;
  std::set<std::string> names;
  for (const auto& [digest, desc] : plan->layers) {
    by_path.emplace(blob_path(digest), &desc);
    names.insert(blob_path(digest));
  }
  auto st = (*files)->stream(
      names,
      [&](const std::string& name, std::int64_t size, const contentio::Source& source) -> Status {
        const Descriptor& d = *by_path.at(name);
        const std::string file = name + " in " + where;
        if (size != d.size)
          return invalid_argument("size mismatch: " + file + " is " + std::to_string(size) +
                                  " bytes, but its descriptor says " + std::to_string(d.size));
        if (auto in = contentio::ingest(*store_, ref_prefix + d.digest, d, source); !in)
          return blob_error(in.error(), d, file);
        return {};
      });
  if (!st)
    return std::move(st).error();
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& [digest, entry] : plan->metadata) {
      const auto& [desc, bytes] = entry;
      auto kind = classify(desc.media_type, "blob " + digest);
      if ((kind && *kind == BlobKind::Index) != (pass == 1))
        continue;
      if (auto in = contentio::ingest(*store_, ref_prefix + digest, desc, string_source(bytes));
          !in)
        return blob_error(in.error(), desc, blob_path(digest) + " in " + where);
    }
  }

  // Every blob is in the store: now the records.
  std::vector<Image> written;
  const auto now = std::chrono::system_clock::now();
  for (auto& image : plan->images) {
    image.created = image.updated = now;
    image.labels = opts.labels;
    auto put = records_.put(std::move(image));
    if (!put)
      return std::move(put).error();
    written.push_back(std::move(*put));
  }
  return written;
}

Status ImagesService::walk(const ImageWalkFn& fn, const std::vector<std::string>& filters) {
  auto parsed = parse_image_filters(filters);
  if (!parsed)
    return std::move(parsed).error().wrap("images");
  auto all = records_.list();
  if (!all)
    return std::move(all).error();
  for (const auto& image : *all) {
    if (!matches(*parsed, image))
      continue;
    if (auto st = fn(image); !st)
      return st;
  }
  return {};
}

Result<Image> ImagesService::get(const std::string& name) {
  return records_.get(name);
}

Status ImagesService::remove(const std::string& name) {
  return records_.remove(name);
}

Result<UnpackResult> ImagesService::unpack(const std::string& name, const UnpackOptions& opts) {
  auto image = records_.get(name);
  if (!image)
    return std::move(image).error();
  return unpack_image(*image, opts, unpack_, chain_locks_);
}

} // namespace strata::images
