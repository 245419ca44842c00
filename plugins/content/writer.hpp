#pragma once
// ContentWriter of the local store: one ingest directory per ref, locked with flock(2) for as
// long as the writer lives, so a second writer of the same ref (in this process or another) is
// refused instead of interleaving bytes.

#include "core.hpp"
#include <strata/fs/posix.hpp>

#include <strata/digest/sha256.hpp>
#include <strata/plugin/content.hpp>

#include <memory>
#include <string>

namespace strata::content {

/// Streams bytes into <ingest>/<hash of ref>/data, hashing them on the way, and moves the file
/// into blobs/sha256/ at commit. Ingests are not resumable: opening a ref starts it from byte 0,
/// and a writer destroyed without a successful commit removes its ingest directory.
class IngestWriter final : public ContentWriter {
public:
  /// Starts an ingest. Errors: Unavailable (ref locked by another writer); Internal.
  static Result<std::unique_ptr<IngestWriter>>
  open(std::shared_ptr<Core> core, const std::string& ref, const Descriptor& expected);

  ~IngestWriter() override;

  Status write(std::span<const std::byte> data) override;
  std::int64_t offset() const override { return offset_; }
  Status commit(std::int64_t expected_size, const std::string& expected_digest,
                const Labels& labels) override;

private:
  IngestWriter(std::shared_ptr<Core> core, std::string ref, Descriptor expected, std::string dir,
               fs::UniqueFd dir_fd, fs::UniqueFd data_fd);
  Status do_commit(std::int64_t expected_size, const std::string& expected_digest,
                   const Labels& labels);
  // Removes the ingest directory; the lock goes with the directory fd afterwards.
  void discard() noexcept;

  std::shared_ptr<Core> core_;
  std::string ref_;
  Descriptor expected_;
  std::string dir_;
  fs::UniqueFd dir_fd_;  // holds the flock
  fs::UniqueFd data_fd_; // closed once the data is committed or discarded
  digest::Sha256 hash_;
  std::int64_t offset_ = 0;
  bool finished_ = false; // committed, or failed at commit; no more writes either way
};

} // namespace strata::content
