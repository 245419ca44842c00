// WalkingDiffer::compare: two directory trees -> layer tar -> compression -> content store.

#include "differ.hpp"
#include "target.hpp"

#include <strata/archive/compression.hpp>
#include <strata/archive/diff.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/fs/posix.hpp>

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

} // namespace

Result<Descriptor> WalkingDiffer::compare(const std::vector<Mount>& lower,
                                          const std::vector<Mount>& upper,
                                          const CompareOptions& opts) {
  const std::string mt = opts.media_type.empty() ? media_type::layer_tar_gzip : opts.media_type;
  auto codec = output_codec(mt);
  if (!codec)
    return std::move(codec).error();
  auto lower_dir = plain_directory(lower, "lower");
  if (!lower_dir)
    return std::move(lower_dir).error();
  auto upper_dir = plain_directory(upper, "upper");
  if (!upper_dir)
    return std::move(upper_dir).error();
  if (upper_dir->empty())
    return invalid_argument("walking differ: compare needs an upper mount");

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
      *lower_dir, *upper_dir,
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
