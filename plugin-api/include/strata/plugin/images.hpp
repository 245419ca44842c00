#pragma once
/// \file
/// ImageService: the interface of the images service (strata.service.v1.images). An image is a
/// name pointing at a manifest or index in the content store, together with what was resolved
/// for one platform when it was imported: the manifest, its config, its layers and their diff IDs,
/// which is everything an unpack needs without parsing the manifests again.

#include "strata/plugin/descriptor.hpp"
#include "strata/plugin/instance.hpp"
#include "strata/plugin/platform.hpp"
#include "strata/plugin/snapshot.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace strata {

/// Annotations of index entries that name the image they point at.
namespace image_annotation {
/// OCI: the reference (often just a tag) of an index entry.
inline constexpr const char* ref_name = "org.opencontainers.image.ref.name";
/// containerd's full image name, preferred over ref_name when both are present.
inline constexpr const char* containerd_name = "io.containerd.image.name";
} // namespace image_annotation

/// What an image resolves to for one platform.
struct ImageManifest {
  /// The platform the manifest was selected for, as its config states it.
  Platform platform;
  /// The manifest selected for `platform` (the image's target itself when that is a manifest).
  Descriptor manifest;
  /// The manifest's config blob.
  Descriptor config;
  /// The layer blobs, bottom first.
  std::vector<Descriptor> layers;
  /// The config's rootfs.diff_ids: digests of the uncompressed layers, one per entry of `layers`.
  std::vector<std::string> diff_ids;
  /// The chain ID of each layer: chain_ids[0] = diff_ids[0], chain_ids[i] = sha256 of
  /// "<chain_ids[i-1]> <diff_ids[i]>". Unpacked layers are committed snapshots named by these,
  /// so the last one names the image's top snapshot.
  std::vector<std::string> chain_ids;
  bool operator==(const ImageManifest&) const = default;
};

/// An image record.
struct Image {
  /// Unique name, e.g. "docker.io/library/alpine:3.19" (any non-empty text without control
  /// characters, at most 1024 bytes).
  std::string name;
  /// The manifest or index the image names, as its layout's index.json lists it.
  Descriptor target;
  /// When the name was first imported and last re-imported.
  Timestamp created{};
  Timestamp updated{};
  /// Labels given by the user. Never copied from the image's own annotations or config: those
  /// are untrusted input and must not reach plugins that act on labels.
  Labels labels;
  /// The target resolved for the import's platform.
  ImageManifest resolved;
  bool operator==(const Image&) const = default;
};

/// JSON: {"platform", "manifest", "config", "layers", "diffIds", "chainIds"} (descriptors in OCI
/// form).
void tag_invoke(const json::value_from_tag&, json::value& jv, const ImageManifest& m);
ImageManifest tag_invoke(const json::value_to_tag<ImageManifest>&, const json::value& jv);

/// JSON: {"name", "target", "created", "updated", "labels"?, "resolved"}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const Image& i);
Image tag_invoke(const json::value_to_tag<Image>&, const json::value& jv);

/// Options of ImageService::import_layout.
struct ImportOptions {
  /// Name of the image. Empty: every entry of the layout's index.json is imported under the name
  /// its annotations give (io.containerd.image.name, else org.opencontainers.image.ref.name).
  /// Set: one entry is imported under this name: the only one, or the one whose annotated name
  /// is this name.
  std::string name;
  /// Platform whose manifest is selected in an index; nullopt: the host's (Platform::host()).
  std::optional<Platform> platform;
  /// Labels of the new records.
  Labels labels;
};

/// Labels strata puts on the snapshots an unpack creates.
namespace unpack_label {
/// On the active snapshot while a layer is applied and on the committed snapshot: the layer's
/// chain ID. An active snapshot with this label and no unpack running is a leftover of a crash;
/// the images service removes those when it starts.
inline constexpr const char* snapshot_ref = "strata/snapshot.ref";
/// On the committed snapshot: the layer's diff ID.
inline constexpr const char* diff_id = "strata/snapshot/diff-id";
} // namespace unpack_label

/// Where one layer of an unpack stands, reported to UnpackOptions::progress.
struct UnpackProgress {
  enum class State {
    Exists,   ///< its chain ID was already committed: nothing to do
    Applying, ///< `bytes` of the compressed blob have been read so far
    Applied,  ///< applied and verified, not yet committed
    Committed ///< committed under its chain ID
  };
  /// Index into ImageManifest::layers (0 = bottom).
  std::size_t layer = 0;
  State state = State::Applying;
  /// Compressed bytes of the layer read so far (its size once applied).
  std::uint64_t bytes = 0;
  /// The layer blob's size.
  std::uint64_t size = 0;
};

/// "exists", "applying", "applied", "committed".
const char* to_string(UnpackProgress::State s) noexcept;

/// JSON: {"layer", "state", "bytes", "size"}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const UnpackProgress& p);
UnpackProgress tag_invoke(const json::value_to_tag<UnpackProgress>&, const json::value& jv);

/// Options of ImageService::unpack.
struct UnpackOptions {
  /// The snapshotter id to unpack into, e.g. "overlayfs" (of strata.snapshotter.v1.overlayfs).
  std::string snapshotter;
  /// Apply the layers concurrently into parentless snapshots and commit them in order onto their
  /// parents, when the snapshotter has the "rebase" capability and the diff service
  /// "apply-unknown-lowers" (see strata/plugin/differ.hpp); false: one layer after another.
  bool parallel = true;
  /// syncfs(2) each filesystem the layers were written to after applying and before committing,
  /// so that no committed snapshot can lose data on power failure (through ApplyOptions::sync_fs:
  /// the differ syncs). The images service's config `sync_fs = true` turns it on for every
  /// unpack.
  bool sync_fs = false;
  /// Called as layers progress, never concurrently (the service serialises the calls); may be
  /// empty. It must not call back into the service.
  std::function<void(const UnpackProgress&)> progress;
};

/// One layer of an unpack.
struct UnpackedLayer {
  Descriptor layer;
  std::string diff_id;
  std::string chain_id;
  /// false when its chain ID was already committed and nothing was applied.
  bool applied = false;
  bool operator==(const UnpackedLayer&) const = default;
};

/// What ImageService::unpack did.
struct UnpackResult {
  std::string image;
  std::string snapshotter;
  /// The top layer's chain ID: the committed snapshot holding the image's root filesystem.
  std::string chain_id;
  std::vector<UnpackedLayer> layers;
  /// Whether the layers were applied concurrently (parallel asked and the snapshotter can
  /// rebase, and more than one layer needed applying).
  bool parallel = false;
  bool sync_fs = false;
  /// Wall-clock seconds the unpack took.
  double seconds = 0;
  bool operator==(const UnpackResult&) const = default;
};

/// JSON: {"layer", "diffId", "chainId", "applied"}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const UnpackedLayer& l);
UnpackedLayer tag_invoke(const json::value_to_tag<UnpackedLayer>&, const json::value& jv);
/// JSON: {"image", "snapshotter", "chainId", "layers", "parallel", "syncFs", "seconds"}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const UnpackResult& r);
UnpackResult tag_invoke(const json::value_to_tag<UnpackResult>&, const json::value& jv);

/// Called by ImageService::walk for each image; an error stops the walk and is returned.
using ImageWalkFn = std::function<Status(const Image&)>;

/// Image records and the import of OCI image layouts into the content store.
class ImageService : public Instance {
public:
  ~ImageService() override;

  /// Imports the OCI image layout at `path` (a directory, or a tar of one, optionally
  /// compressed) on the service's own filesystem: checks oci-layout, reads index.json, selects
  /// the manifest for the platform in (nested) indexes, ingests the manifests, configs and
  /// layers it reaches into the content store with their digest and size verified, and only then
  /// writes the image records. A record of the same name is replaced (its created time is kept).
  /// Blobs ingested by an import that fails later stay in the content store (they are
  /// content-addressed and a retry reuses them); no record refers to them.
  /// Errors: NotFound (`path` does not exist; no manifest for the platform); InvalidArgument
  /// (not a layout, wrong oci-layout version, malformed JSON, oversized manifest/index/config,
  /// unknown media type, missing blob, digest or size mismatch, diff_ids count not equal to the
  /// layers count, no name), each naming the blob and the file; Unavailable (no content store);
  /// the content store's errors.
  virtual Result<std::vector<Image>> import_layout(const std::string& path,
                                                   const ImportOptions& opts) = 0;

  /// Visits the images matching any filter (none: all), in name order. Filters as
  /// parse_image_filters (filters.hpp): fields name and labels.<key>, operators ==, != and ~=.
  /// Errors: InvalidArgument (bad filter); the callback's.
  virtual Status walk(const ImageWalkFn& fn, const std::vector<std::string>& filters) = 0;

  /// The image named `name`. Errors: NotFound; InvalidArgument (not a valid name).
  virtual Result<Image> get(const std::string& name) = 0;

  /// Removes the record of `name`. Its blobs stay in the content store (other images may share
  /// them). Errors: NotFound; InvalidArgument (not a valid name); Internal (I/O).
  virtual Status remove(const std::string& name) = 0;

  /// Unpacks the image's layers into snapshotter `opts.snapshotter`: for each layer whose chain ID
  /// is not committed yet, prepares an active snapshot under a random key, applies the layer
  /// through the diff service with its diff ID checked, and commits it under its chain ID. An
  /// existing chain ID counts as done, also when a concurrent unpack commits it first. On failure
  /// every active snapshot this call created is removed; committed lower layers stay (they are
  /// correct and a retry reuses them).
  /// Errors: NotFound (no such image; no such snapshotter); InvalidArgument (not a valid name);
  /// Unavailable (no diff service); FailedPrecondition (a layer's diff ID does not match what it
  /// unpacks to); the snapshotter's and differ's errors, naming the layer. The default
  /// implementation returns NotImplemented.
  virtual Result<UnpackResult> unpack(const std::string& name, const UnpackOptions& opts);
};

} // namespace strata
