// WalkingDiffer::compare: two directory trees -> layer tar -> compression -> content store.

#include "differ.hpp"
#include "target.hpp"

#include <strata/archive/compression.hpp>
#include <strata/archive/diff.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/fs/posix.hpp>
#include <strata/mount/options.hpp>
#include <strata/mount/temp.hpp>
#include <strata/plugin/try.hpp>

#include <optional>
#include <utility>

namespace strata::walking {

namespace {

Result<archive::Compression> output_codec(const std::string& media_type) {
  auto codec = archive::compression_of_media_type(media_type);
  if (!codec || !codec->has_value())
    return not_implemented("walking differ: cannot write media type \"" + media_type + "\"; use " +
                           media_type::layer_tar + ", " + media_type::layer_tar_gzip + " or " +
                           media_type::layer_tar_zstd);
  return **codec;
}

// One side of a comparison: the directory walked, and the read-only temporary mount behind it
// when the side is an image. The mount goes when the side does, on every return path.
struct Side {
  std::string dir;
  std::optional<mount::TempMount> mounted;
  Logger* log = nullptr;

  Side() = default;
  Side(const Side&) = delete;
  Side& operator=(const Side&) = delete;
  ~Side() {
    if (mounted)
      if (Status st = mounted->release(); !st)
        log->warn("walking differ: compare: " + st.error().message());
  }
};

Status open_side(Side& side, const std::vector<Mount>& mounts, const char* which) {
  if (!is_image(mounts)) {
    STRATA_TRY_ASSIGN(side.dir, plain_directory(mounts, which));
    return {};
  }
  // Read-only: comparing must not change the snapshot (the "loop" device is attached "ro").
  auto tm = mount::TempMount::create(mount::readonly(mounts));
  if (!tm)
    return std::move(tm).error().wrap(std::string("walking differ: compare: cannot mount the ") +
                                      which + " image " + mounts.front().source);
  side.dir = tm->path();
  side.mounted.emplace(std::move(*tm));
  return {};
}

} // namespace

Result<Descriptor> WalkingDiffer::compare(const std::vector<Mount>& lower,
                                          const std::vector<Mount>& upper,
                                          const CompareOptions& opts) {
  const std::string mt = opts.media_type.empty() ? media_type::layer_tar_gzip : opts.media_type;
  auto codec = output_codec(mt);
  if (!codec)
    return std::move(codec).error();
  // Every NotImplemented decision before anything is mounted.
  for (const auto& [mounts, which] : {std::pair{&lower, "lower"}, std::pair{&upper, "upper"}})
    if (!is_image(*mounts))
      STRATA_TRY(plain_directory(*mounts, which));
  if (upper.empty())
    return invalid_argument("walking differ: compare needs an upper mount");
  Side lower_side;
  Side upper_side;
  lower_side.log = upper_side.log = log_.get();
  STRATA_TRY(open_side(lower_side, lower, "lower"));
  STRATA_TRY(open_side(upper_side, upper, "upper"));

  std::string ref = opts.reference;
  if (ref.empty()) {
    auto suffix = fs::random_hex(12);
    if (!suffix)
      return std::move(suffix).error();
    ref = "walking-compare-" + *suffix;
  }
  auto writer = store_->writer(ref, {});
  if (!writer)
    return std::move(writer).error();

  // The blob's own digest and size, counted as the compressed bytes go out.
  digest::Sha256 blob_hash;
  std::int64_t blob_size = 0;
  auto compressor = archive::compressing(
      [&](std::span<const std::byte> data) -> Status {
        blob_hash.update(data);
        blob_size += static_cast<std::int64_t>(data.size());
        return (*writer)->write(data);
      },
      *codec);
  archive::DiffOptions dopts;
  dopts.source_date_epoch = opts.source_date_epoch;
  auto diff = archive::write_diff(
      lower_side.dir, upper_side.dir,
      [&](std::span<const std::byte> data) { return compressor->write(data); }, dopts);
  if (!diff)
    return std::move(diff).error().wrap("walking differ: compare");
  if (auto st = compressor->finish(); !st)
    return st.error().wrap("walking differ: compare");
  const std::string blob_digest = blob_hash.finish();

  Labels labels = opts.labels;
  if (*codec != archive::Compression::None)
    labels[content_label::uncompressed] = diff->digest;
  if (auto st = (*writer)->commit(blob_size, blob_digest, labels); !st) {
    if (st.error().code() != Code::AlreadyExists)
      return st.error().wrap("walking differ: compare");
    // Same bytes committed before (maybe without our labels): make sure they are there.
    ContentInfo info;
    info.digest = blob_digest;
    info.labels = labels;
    std::vector<std::string> paths;
    for (const auto& [k, v] : labels)
      paths.push_back("labels." + k);
    if (!paths.empty())
      if (auto up = store_->update(info, paths); !up)
        return std::move(up).error().wrap("walking differ: compare");
  }
  return Descriptor{mt, blob_digest, blob_size, {}};
}

} // namespace strata::walking
