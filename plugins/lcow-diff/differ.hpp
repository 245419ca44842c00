#pragma once
// LcowDiffer: containerd's windows-lcow differ. A layer applied onto an lcow-layer mount becomes
// <source>/layer.vhd, an ext4 image with a fixed-VHD footer that Hyper-V attaches to an LCOW
// guest, which stacks such disks with overlayfs. The plugin glue is in plugin.cpp.

#include "config.hpp"

#include <strata/plugin/content.hpp>
#include <strata/plugin/differ.hpp>
#include <strata/plugin/logger.hpp>

#include <memory>
#include <string>

namespace strata::lcow {

/// The mount type the lcow snapshotter hands out for a layer directory.
inline constexpr const char* lcow_layer_mount = "lcow-layer";
/// The image's name in the layer directory (what hcsshim attaches).
inline constexpr const char* layer_vhd = "layer.vhd";

/// The layer directory of `mounts`: the source of a single lcow-layer mount.
/// Errors: NotImplemented without an lcow-layer mount (no mounts included), so the diff service
/// tries the next differ; InvalidArgument for an lcow-layer mount among others or a relative
/// source.
Result<std::string> layer_dir(const std::vector<Mount>& mounts);

class LcowDiffer : public Differ {
public:
  /// `log` null: null_logger().
  LcowDiffer(std::shared_ptr<ContentStore> store, Config config,
             std::shared_ptr<Logger> log = nullptr);

  /// See Applier::apply. One lcow-layer mount (layer_dir); media types: OCI/Docker layer tars,
  /// gzip, zstd, and whatever configured stream processors turn into one of those; target
  /// ApplyTarget::Mounts. Anything else is NotImplemented, decided before anything is read.
  /// Writes <source>/layer.vhd through a temporary name (fsynced, then renamed); on any error
  /// no layer.vhd and no temporary file is left. Returns the uncompressed tar's descriptor.
  /// Errors: as Applier::apply; InvalidArgument naming the entry for a layer ext4 cannot hold
  /// (over max_file_bytes or max_image_bytes, a hardlink to a missing entry, a directory
  /// replaced by a file).
  Result<Descriptor> apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                           const ApplyOptions& opts) override;

  /// Always NotImplemented (as containerd's windows-lcow differ).
  Result<Descriptor> compare(const std::vector<Mount>& lower, const std::vector<Mount>& upper,
                             const CompareOptions& opts) override;

  /// The decoded configuration.
  const Config& config() const noexcept { return config_; }

private:
  // NotImplemented unless the media type is a layer tar we decode, or a processor takes it.
  Status check_media_type(const std::string& media_type) const;
  Result<Descriptor> convert(const Descriptor& desc, const std::string& dir,
                             const ApplyOptions& opts);

  std::shared_ptr<ContentStore> store_;
  Config config_;
  std::shared_ptr<Logger> log_;
};

} // namespace strata::lcow
