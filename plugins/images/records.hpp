#pragma once
// Image records: one JSON file per image under <root>/images, named by the sha256 of the image
// name (names hold '/' and ':' and may be long; the hash is a fixed-length, safe file name and
// the file holds the name itself). Each file is replaced atomically and durably
// (write_file_atomic), so a crash leaves either the old or the new record, never a torn one.
// Why files and not SQLite: records are small, few and written once per import; one file per
// record needs no schema, and the content store beside it keeps its metadata the same way.

#include <strata/plugin/images.hpp>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace strata::images {

/// The record files. Thread-safe.
class RecordStore {
public:
  /// Uses (and creates, mode 0700) `dir`. Errors: I/O.
  static Result<RecordStore> open(const std::string& dir);

  /// The record of `name`. Errors: NotFound; InvalidArgument (bad name); Internal (a record
  /// file that cannot be read or parsed, naming it).
  Result<Image> get(const std::string& name) const;

  /// Writes `image`; a record of the same name keeps its created time. Returns what was written.
  Result<Image> put(Image image);

  /// Every readable record, by name. A record file that cannot be parsed is left out (and
  /// named by get()), so that one bad file never hides the others.
  Result<std::vector<Image>> list() const;

  /// Removes the record of `name`. Errors: NotFound; InvalidArgument (bad name); I/O.
  Status remove(const std::string& name);

private:
  explicit RecordStore(std::string dir) : dir_(std::move(dir)) {}
  std::string file_of(const std::string& name) const;
  Result<Image> read(const std::string& file) const;

  std::string dir_;
  // Serialises put/remove so that created times survive concurrent re-imports.
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
};

} // namespace strata::images
