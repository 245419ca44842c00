#pragma once
// ImagesService: the strata.service.v1.images instance (the plugin glue is in plugin.cpp).
// Import = plan (every check on the layout's small files, plan.hpp) -> ingest (layers streamed,
// every blob verified against its descriptor's digest and size by contentio::ingest) -> records
// (records.hpp), in that order, so that a record never exists before all its blobs do.

#include "records.hpp"
#include "unpack.hpp"

#include <strata/plugin/content.hpp>
#include <strata/plugin/images.hpp>

#include <cstddef>
#include <memory>
#include <string>

namespace strata::images {

/// Default cap on index.json, indexes, manifests and configs (4 MiB). Real manifests are a few
/// KiB; the cap keeps a hostile layout from making the daemon read gigabytes into memory
/// (CVE-2023-25153).
inline constexpr std::size_t default_max_manifest_bytes = std::size_t(4) << 20;

/// The plugin's config section defaults (TOML).
inline constexpr const char* default_config = "max_manifest_bytes = 4194304\n"
                                              "sync_fs = false\n"
                                              "max_parallel_layers = 4\n";

/// Settings of the service.
struct Config {
  std::size_t max_manifest_bytes = default_max_manifest_bytes;
  /// syncfs after applying and before committing, for every unpack.
  bool sync_fs = false;
  /// Layers applied at once by a parallel unpack.
  std::size_t max_parallel_layers = 4;
};

/// Reads the plugin's config section. Errors: InvalidArgument (max_manifest_bytes or
/// max_parallel_layers not positive, sync_fs not a boolean), naming the key.
Result<Config> decode(const json::object& section);

class ImagesService : public ImageService {
public:
  /// `unpack` holds the snapshotters and the diff service; without them only unpack fails.
  ImagesService(std::shared_ptr<ContentStore> store, RecordStore records, Config config,
                UnpackEnvironment unpack = {});

  Result<std::vector<Image>> import_layout(const std::string& path,
                                           const ImportOptions& opts) override;
  Status walk(const ImageWalkFn& fn, const std::vector<std::string>& filters) override;
  Result<Image> get(const std::string& name) override;
  Status remove(const std::string& name) override;
  Result<UnpackResult> unpack(const std::string& name, const UnpackOptions& opts) override;

private:
  std::shared_ptr<ContentStore> store_;
  RecordStore records_;
  Config config_;
  UnpackEnvironment unpack_;
  ChainLocks chain_locks_;
};

} // namespace strata::images
