#pragma once
// TarBuilder: hand-made tar streams for tests, hostile ones included (names with "..",
// absolute names, links anywhere, duplicate entries); cut the bytes for truncated archives.
#include <strata/contentio/stream.hpp>

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace strata::testing {

struct TarEntry {
  enum class Type { File, Dir, Symlink, Hardlink, Char, Block, Fifo };
  Type type = Type::File;
  std::string name;
  std::string data; ///< File only
  std::string link; ///< Symlink / Hardlink target, verbatim
  mode_t mode = 0644;
  std::int64_t uid = 0, gid = 0;
  unsigned major = 0, minor = 0;
  std::int64_t mtime = 1700000000;
  long mtime_nsec = 0;     ///< written as a PAX mtime when non-zero
  std::int64_t atime = -1; ///< written as a PAX atime when >= 0
  std::map<std::string, std::string> xattrs;
};

class TarBuilder {
public:
  TarBuilder& add(TarEntry e);
  TarBuilder& file(std::string name, std::string data, mode_t mode = 0644);
  TarBuilder& dir(std::string name, mode_t mode = 0755);
  TarBuilder& symlink(std::string name, std::string target);
  TarBuilder& hardlink(std::string name, std::string target);
  /// A PAX tar of every entry added, in order.
  std::string bytes() const;

private:
  std::vector<TarEntry> entries_;
};

/// One hand-made ustar header (and its data) for streams libarchive's writer refuses to make:
/// any typeflag, a size field that lies, a broken checksum, raw GNU/PAX extension records.
struct RawEntry {
  std::string name;     ///< the 100-byte name field (longer is cut)
  char typeflag = '0';  ///< '0' file, '1' hardlink, '2' symlink, 'x' PAX, 'L' GNU long name, ...
  std::string linkname; ///< the 100-byte linkname field
  std::string data;     ///< written after the header, padded to a 512-byte block
  /// The 12-byte size field verbatim (e.g. huge octal, or base-256 bytes); empty: the octal of
  /// data.size().
  std::string size_field;
  mode_t mode = 0644;
  unsigned devmajor = 0, devminor = 0;
  bool bad_checksum = false;
};

/// The given entries as ustar blocks, then two zero blocks unless `end_blocks` is false.
std::string raw_tar(const std::vector<RawEntry>& entries, bool end_blocks = true);

/// A PAX extended header ('x', or 'g' for global) carrying `records` (key -> value).
RawEntry pax_header(const std::map<std::string, std::string>& records, char typeflag = 'x');

/// A Source that yields `data` in pieces of at most `step` bytes.
contentio::Source string_source(std::string data, std::size_t step = 1 << 16);

/// gzip / zstd of `data` (for layers in compressed form).
std::string gzip(const std::string& data);
std::string zstd(const std::string& data);

} // namespace strata::testing
