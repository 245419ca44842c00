#pragma once
/// \file
/// ContentStore: the interface of strata.content.v1 plugins. Blobs are addressed by digest
/// ("sha256:<64 hex>") and immutable once committed.

#include "strata/plugin/descriptor.hpp"
#include "strata/plugin/instance.hpp"
#include "strata/plugin/snapshot.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace strata {

/// Well-known labels of blobs.
namespace content_label {
/// On a compressed layer blob: the digest of its uncompressed tar (the diff ID).
inline constexpr const char* uncompressed = "strata.io/uncompressed";
} // namespace content_label

/// Metadata of a committed blob.
struct ContentInfo {
  std::string digest;
  std::int64_t size = 0;
  Timestamp created{};
  Timestamp updated{};
  Labels labels;
  bool operator==(const ContentInfo&) const = default;
};

/// JSON: {"digest","size","created","updated","labels"?}.
void tag_invoke(const json::value_from_tag&, json::value& jv, const ContentInfo& i);
ContentInfo tag_invoke(const json::value_to_tag<ContentInfo>&, const json::value& jv);

/// Random access to one committed blob.
class ReaderAt {
public:
  virtual ~ReaderAt();
  /// Size of the blob in bytes.
  virtual std::int64_t size() const = 0;
  /// Reads up to buf.size() bytes at `offset`; returns the count, 0 only at end of blob.
  /// Errors: OutOfRange (offset beyond the end); DataLoss/Internal (the source failed or returned
  /// a nonsensical count — callers must never trust a negative or oversized count).
  virtual Result<std::size_t> read_at(std::span<std::byte> buf, std::int64_t offset) = 0;
};

/// An ingest in progress.
class ContentWriter {
public:
  virtual ~ContentWriter();
  /// Appends bytes. Errors: Internal on I/O failure.
  virtual Status write(std::span<const std::byte> data) = 0;
  /// Bytes written so far.
  virtual std::int64_t offset() const = 0;
  /// Verifies size and digest (when non-empty/non-zero), makes the blob durable (file and
  /// directory synced) and visible. Errors: FailedPrecondition (size or digest mismatch; nothing
  /// is committed); AlreadyExists (the blob exists already: not a failure for callers that only
  /// need it present).
  virtual Status commit(std::int64_t expected_size, const std::string& expected_digest,
                        const Labels& labels) = 0;
};

/// Called by ContentStore::walk for each blob; an error stops the walk and is returned.
using ContentWalkFn = std::function<Status(const ContentInfo&)>;

/// A content-addressed blob store.
class ContentStore : public Instance {
public:
  ~ContentStore() override;
  /// Info of a blob. Errors: NotFound; InvalidArgument (not a digest).
  virtual Result<ContentInfo> info(const std::string& digest) = 0;
  /// Updates labels, as Snapshotter::update does. Errors: NotFound; InvalidArgument.
  virtual Result<ContentInfo> update(const ContentInfo& info,
                                     const std::vector<std::string>& fieldpaths) = 0;
  /// Visits blobs matching any filter (none: all). Filters as parse_content_filters
  /// (filters.hpp): fields digest and labels.<key>, operators ==, != and ~=.
  /// Errors: InvalidArgument (bad filter).
  virtual Status walk(const ContentWalkFn& fn, const std::vector<std::string>& filters) = 0;
  /// Deletes a blob. Errors: NotFound.
  virtual Status remove(const std::string& digest) = 0;
  /// Opens a blob for reading. Errors: NotFound.
  virtual Result<std::shared_ptr<ReaderAt>> reader(const std::string& digest) = 0;
  /// Starts an ingest under `ref`; `expected` may carry digest and size to verify at commit.
  /// Errors: Unavailable (another writer holds `ref`); InvalidArgument (empty ref).
  virtual Result<std::unique_ptr<ContentWriter>> writer(const std::string& ref,
                                                        const Descriptor& expected) = 0;
};

} // namespace strata
