#pragma once
// ReaderAt over a committed blob file.

#include <strata/fs/posix.hpp>

#include <strata/plugin/content.hpp>

#include <string>

namespace strata::content {

/// Reads one blob with pread(2). The size is fixed when the file is opened: blobs are immutable,
/// so a file that yields fewer bytes than that was damaged underneath us (DataLoss).
class FileReader final : public ReaderAt {
public:
  /// Opens `path`. Errors: NotFound naming `digest`; Internal.
  static Result<std::shared_ptr<FileReader>> open(const std::string& path, std::string digest);

  FileReader(fs::UniqueFd fd, std::int64_t size, std::string digest)
      : fd_(std::move(fd)), size_(size), digest_(std::move(digest)) {}

  std::int64_t size() const override { return size_; }
  Result<std::size_t> read_at(std::span<std::byte> buf, std::int64_t offset) override;

private:
  fs::UniqueFd fd_;
  std::int64_t size_;
  std::string digest_;
};

} // namespace strata::content
