#pragma once
// WalkingDiffer: applies layer blobs by walking the tar onto a directory (lib/archive) and
// compares two directory trees by walking both. The plugin glue is in plugin.cpp.

#include "config.hpp"
#include "target.hpp"

#include <strata/plugin/content.hpp>
#include <strata/plugin/differ.hpp>
#include <strata/plugin/logger.hpp>

#include <memory>

namespace strata::walking {

class WalkingDiffer : public Differ {
public:
  /// `log` (InitContext::logger() in the plugin; null: null_logger()) gets what an apply works
  /// around, such as an xattr the target refuses when xattr_errors is "warn".
  WalkingDiffer(std::shared_ptr<ContentStore> store, Config config,
                std::shared_ptr<Logger> log = nullptr);

  /// See Applier::apply. Bind mounts, a single overlay mount (into its upperdir) and a single
  /// filesystem image mount with "loop" (mounted on a temporary directory for the apply and
  /// unmounted before it returns, after the syncfs that sync_fs asks for); both targets
  /// (ApplyTarget::UpperdirUnknownLowers onto one bind mount); media types: OCI/Docker layer
  /// tars, gzip, zstd, and whatever configured stream processors turn into one of those.
  /// Anything else is NotImplemented, decided before anything is read or written.
  Result<Descriptor> apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                           const ApplyOptions& opts) override;

  /// See Comparer::compare. Bind mounts (or no mounts: an empty tree) and single "loop" image
  /// mounts (mounted read-only on a temporary directory while compared) on both sides; media
  /// types layer tar, tar+gzip (default), tar+zstd. The blob gets the
  /// content_label::uncompressed label.
  Result<Descriptor> compare(const std::vector<Mount>& lower, const std::vector<Mount>& upper,
                             const CompareOptions& opts) override;

  const Config& config() const noexcept { return config_; }

private:
  // The apply itself, onto target.dir (mounted already when it is an image).
  Result<Descriptor> apply_onto(const Descriptor& desc, const ApplyTarget& target,
                                const ApplyOptions& opts);
  // NotImplemented unless the media type is a layer tar we decode, or a processor takes it.
  Status check_media_type(const std::string& media_type) const;

  std::shared_ptr<ContentStore> store_;
  Config config_;
  std::shared_ptr<Logger> log_;
};

} // namespace strata::walking
