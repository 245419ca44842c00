// WalkingDiffer::apply: blob -> [stream processors] -> decompression -> tar -> directory.

#include "differ.hpp"
#include "target.hpp"

#include <strata/archive/apply.hpp>
#include <strata/archive/compression.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/fs/posix.hpp>
#include <strata/mount/temp.hpp>
#include <strata/streamproc/layer.hpp>

#include <algorithm>
#include <fcntl.h>
#include <unistd.h>

namespace strata::walking {

WalkingDiffer::WalkingDiffer(std::shared_ptr<ContentStore> store, Config config,
                             std::shared_ptr<Logger> log)
    : store_(std::move(store)), config_(std::move(config)),
      log_(log ? std::move(log) : null_logger()) {}

Status WalkingDiffer::check_media_type(const std::string& media_type) const {
  if (archive::compression_of_media_type(media_type))
    return {};
  if (auto st = streamproc::find_accepting(config_.processors, media_type); !st)
    return not_implemented("walking differ: media type \"" + media_type +
                           "\" is not a layer it can decode and " + st.error().message());
  return {};
}

namespace {

Status sync_filesystem(const std::string& dir) {
  fs::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd)
    return fs::sys_error("walking differ: cannot open " + dir + " to sync it", errno);
  if (::syncfs(fd.get()) != 0)
    return fs::sys_error("walking differ: syncfs of the filesystem holding " + dir, errno);
  return {};
}

} // namespace

Result<Descriptor> WalkingDiffer::apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                                        const ApplyOptions& opts) {
  // Every NotImplemented decision comes first: the diff service may try another differ, which
  // must find the target untouched.
  auto target = apply_target(mounts, opts.target);
  if (!target)
    return std::move(target).error();
  if (auto st = check_media_type(desc.media_type); !st)
    return st.error();
  if (!opts.diff_id.empty())
    if (auto st = digest::validate(opts.diff_id); !st)
      return st.error().wrap("walking differ: diff_id");
  if (target->image.empty())
    return apply_onto(desc, *target, opts);

  // An image is written through a mount of it, which must be gone again before the caller
  // commits (or removes) the snapshot: unmounting detaches its loop device.
  const std::string image = target->image.front().source;
  auto mounted = mount::TempMount::create(target->image);
  if (!mounted)
    return std::move(mounted).error().wrap("walking differ: layer " + desc.digest +
                                           ": cannot mount image " + image + " to apply onto");
  target->dir = mounted->path();
  auto applied = apply_onto(desc, *target, opts);
  Status released = mounted->release();
  if (!released) {
    Error e = released.error().wrap("walking differ: layer " + desc.digest + " onto image " +
                                    image + ": cannot unmount it");
    if (applied)
      return e;
    log_->warn(e.message());
  }
  return applied;
}

Result<Descriptor> WalkingDiffer::apply_onto(const Descriptor& desc, const ApplyTarget& target,
                                             const ApplyOptions& opts) {
  streamproc::LayerOptions layer_options;
  layer_options.chain.idle_timeout = config_.processor_timeout;
  layer_options.chain.payloads = opts.processor_payloads;
  layer_options.max_output = config_.max_layer_bytes;
  layer_options.gzip = config_.gzip_decoder;
  layer_options.decompress_thread = config_.decompress_thread;
  layer_options.progress = opts.progress;
  auto layer = streamproc::open_layer(*store_, desc, config_.processors, std::move(layer_options));
  if (!layer)
    return std::move(layer).error().wrap("walking differ");

  archive::ApplyOptions aopts;
  aopts.whiteouts = target.whiteouts;
  aopts.opaque_xattr = target.opaque_xattr;
  // Straight into an upperdir, a hardlink may name a file of an earlier layer and an entry a
  // directory of one: archive copies them up from these (ignored for a bind mount).
  aopts.parents = target.lowerdirs;
  aopts.parents_unknown = target.parents_unknown;
  aopts.no_same_owner = config_.no_same_owner;
  aopts.unsupported_xattrs = config_.xattr_errors;
  aopts.max_total_bytes = config_.max_layer_bytes;
  aopts.warn = [&desc, this](std::string_view w) {
    log_->warn("layer " + desc.digest + ": " + std::string(w));
  };
  auto applied = archive::apply(target.dir, layer->tar(), aopts);
  layer->close();
  if (!applied)
    return std::move(applied).error().wrap("walking differ: layer " + desc.digest + " onto " +
                                           target.dir);
  if (!opts.diff_id.empty() && applied->digest != opts.diff_id)
    return failed_precondition("walking differ: layer " + desc.digest + " unpacks to " +
                               applied->digest + ", but its diff ID is " + opts.diff_id +
                               "; the image is corrupt or its config lies");
  // The one place a layer's data is synced (ApplyOptions::sync_fs): before the caller commits.
  if (opts.sync_fs)
    if (auto st = sync_filesystem(target.dir); !st)
      return st.error();
  return Descriptor{media_type::layer_tar, applied->digest, applied->size, {}};
}

} // namespace strata::walking
