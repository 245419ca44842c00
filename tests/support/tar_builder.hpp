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

/// A Source that yields `data` in pieces of at most `step` bytes.
contentio::Source string_source(std::string data, std::size_t step = 1 << 16);

/// gzip / zstd of `data` (for layers in compressed form).
std::string gzip(const std::string& data);
std::string zstd(const std::string& data);

} // namespace strata::testing
