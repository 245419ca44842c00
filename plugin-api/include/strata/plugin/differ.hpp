#pragma once
/// \file
/// Differ: the interface of strata.differ.v1 plugins (Applier + Comparer).
///
/// The diff service tries differs in configured order and moves on to the next one only when a
/// differ returns NotImplemented, so a differ must return NotImplemented (and nothing else) for
/// mounts, media types or apply targets it does not handle, and must not have changed anything
/// when it does.
///
/// The apply contract, all of it here so that a differ built from these headers alone can take
/// part in every unpack:
/// - ApplyOptions::target says what the mounts are (ApplyTarget). ApplyTarget::Mounts, the
///   default, is what every caller but a parallel unpack uses. ApplyTarget::UpperdirUnknownLowers
///   only reaches a differ that lists capability::apply_unknown_lowers in its Meta: the diff
///   service (and the API's `differ=ID`) skips the others for it (as if they had returned
///   NotImplemented), so a differ that knows nothing of targets is never handed one it would get
///   wrong. The unpack then applies the layer in order onto its parent with Mounts.
/// - An apply onto UpperdirUnknownLowers that meets an entry needing the layers below fails with
///   Code::NeedsParent; the unpack then discards that attempt and applies the layer again, with
///   ApplyTarget::Mounts, onto its committed parent. NotFound keeps its plain meaning (the blob is
///   missing) and fails the unpack.
/// - ApplyOptions::sync_fs is the one switch for durability: the differ that applies the layer,
///   and nothing else, calls syncfs(2) on the filesystem it wrote before it returns.

#include "strata/plugin/descriptor.hpp"
#include "strata/plugin/instance.hpp"
#include "strata/plugin/json.hpp"
#include "strata/plugin/mount.hpp"
#include "strata/plugin/snapshot.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace strata {

/// What the mounts given to Applier::apply are, and so how a layer goes onto them.
enum class ApplyTarget : std::uint8_t {
  /// The filesystem the mounts make, all of it known (the default). One bind mount is a plain
  /// directory tree: whiteouts delete what they name. One overlay mount is an overlay upperdir
  /// whose lowers are exactly its lowerdirs (none: nothing below); the layer must show in its
  /// merged view, so a differ writes the merged view through a mount, or writes the upperdir
  /// directly with overlay whiteouts (0:0 character devices, the opaque xattr) and copies up
  /// from the lowerdirs what the layer's entries need (a hardlink's target, an implied
  /// directory's owner and mode).
  Mounts = 0,
  /// One bind mount of a directory that becomes an overlay upperdir once committed onto parent
  /// layers that are not known yet (a parallel unpack applies layers before their parents).
  /// Whiteouts must stay as overlay markers (nothing is below to delete, and the marker must hide
  /// the parents' file later); an entry that needs what is below fails the apply with
  /// Code::NeedsParent: a hardlink to a file the layer does not hold, a directory the layer
  /// implies without an entry of its own (its owner and mode may be a parent's), an opaque marker
  /// at the layer's root. A differ handles it only when it lists
  /// capability::apply_unknown_lowers; other mounts with this target are NotImplemented.
  UpperdirUnknownLowers = 1,
};

/// The JSON name: "mounts", "upperdir-unknown-lowers".
std::string_view to_string(ApplyTarget t) noexcept;

/// Options of Applier::apply.
struct ApplyOptions {
  /// Expected digest of the uncompressed layer (the diff ID); empty: not checked.
  std::string diff_id;
  /// What the mounts are (see ApplyTarget). Since ABI 2.0.
  ApplyTarget target = ApplyTarget::Mounts;
  /// syncfs(2) the filesystem written to after applying, before returning. The only place a
  /// layer's data is synced: the differ does it, the callers (the unpack's --sync-fs, the diff
  /// service's sync_fs) only set this.
  bool sync_fs = false;
  /// Opaque per-processor payloads, keyed by stream processor id.
  std::map<std::string, std::string> processor_payloads;
  /// Called on the applying thread with the number of the blob's (compressed) bytes read so far,
  /// as reading goes; may be empty. Not part of the JSON form. Since ABI minor 1 (a differ built
  /// earlier ignores it).
  std::function<void(std::uint64_t)> progress;
};

/// JSON: {"diffID"?, "target"?: "mounts" | "upperdir-unknown-lowers", "syncFs"?,
/// "processorPayloads"?: {id: payload}}; absent fields take the defaults above. Wrong types and
/// unknown target names throw (use from_json for an InvalidArgument instead).
void tag_invoke(const json::value_from_tag&, json::value& jv, const ApplyOptions& o);
ApplyOptions tag_invoke(const json::value_to_tag<ApplyOptions>&, const json::value& jv);

/// Applies a layer blob onto mounts.
class Applier {
public:
  virtual ~Applier();
  /// Applies the content `desc` points at onto the filesystem described by `mounts` and returns
  /// the descriptor of the uncompressed stream that was applied (media type layer tar, size and
  /// digest of the uncompressed bytes).
  /// The target is what opts.target says the mounts are (see ApplyTarget); with opts.sync_fs the
  /// written filesystem is synced before returning.
  /// Errors: NotImplemented (mount type, media type or target not handled; nothing changed);
  /// NeedsParent (UpperdirUnknownLowers only: the layer needs the layers below; the target may
  /// hold part of the layer and is discarded by the caller); NotFound (blob missing);
  /// InvalidArgument (corrupt or hostile archive); FailedPrecondition (diff_id mismatch);
  /// Internal/Unavailable otherwise.
  virtual Result<Descriptor> apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                                   const ApplyOptions& opts) = 0;
};

/// Options of Comparer::compare.
struct CompareOptions {
  /// Media type of the blob to write; empty: layer tar+gzip.
  std::string media_type;
  /// Content store ingest reference; empty: a random one.
  std::string reference;
  /// Labels of the written blob.
  Labels labels;
  /// Clamp newer timestamps of regular entries to this time (whiteouts keep their own).
  std::optional<Timestamp> source_date_epoch;
};

/// The latest SOURCE_DATE_EPOCH in seconds: 9223372036 (2262-04-11T23:47:16Z), the last whole
/// second a Timestamp (signed 64-bit nanoseconds) holds. The earliest is 0 (1970-01-01T00:00:00Z).
/// Values outside [0, max_source_date_epoch] are refused wherever one enters (API, CLI,
/// environment, library), never wrapped.
inline constexpr std::int64_t max_source_date_epoch = 9'223'372'036;

/// `seconds` since the epoch as a SOURCE_DATE_EPOCH time. `what` names the field or variable.
/// Errors: InvalidArgument naming `what`, the value and the range when `seconds` is outside
/// [0, max_source_date_epoch].
Result<Timestamp> source_date_epoch_of(std::int64_t seconds, std::string_view what);

/// OK when `t` lies in [0, max_source_date_epoch] seconds (for callers holding a Timestamp).
/// Errors: InvalidArgument naming `what` and the range.
Status check_source_date_epoch(Timestamp t, std::string_view what);

/// JSON: {"mediaType"?, "reference"?, "labels"?, "sourceDateEpoch"?}; sourceDateEpoch is an RFC
/// 3339 UTC time or, as the SOURCE_DATE_EPOCH variable has it, integer seconds since the epoch
/// (written back as RFC 3339), in the range [0, max_source_date_epoch] seconds. Wrong types and
/// values out of range throw (use from_json for an InvalidArgument instead).
void tag_invoke(const json::value_from_tag&, json::value& jv, const CompareOptions& o);
CompareOptions tag_invoke(const json::value_to_tag<CompareOptions>&, const json::value& jv);

/// Computes the difference between two filesystems as a layer blob.
class Comparer {
public:
  virtual ~Comparer();
  /// Writes the changes from `lower` to `upper` as a layer into the content store and returns its
  /// descriptor.
  /// Errors: NotImplemented (mount or media type not handled); Internal otherwise.
  virtual Result<Descriptor> compare(const std::vector<Mount>& lower,
                                     const std::vector<Mount>& upper,
                                     const CompareOptions& opts) = 0;
};

/// A differ does both.
class Differ : public Instance, public Applier, public Comparer {
public:
  ~Differ() override;
};

} // namespace strata
