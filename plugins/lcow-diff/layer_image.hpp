#pragma once
// A layer tar as an ext4 image: LayerCensus sizes the image from a first read of the headers,
// LayerImageWriter puts the entries into it on a second read (the tar is spooled in between), with
// OCI whiteouts turned into what an LCOW guest's overlayfs expects.

#include "ext4_image.hpp"

#include <strata/archive/tar_reader.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

namespace strata::lcow {

/// Size limits of one conversion (the differ's max_file_bytes and max_image_bytes).
struct Limits {
  std::uint64_t max_file_bytes = 0;
  std::uint64_t max_image_bytes = 0;
};

/// Counts what a layer's entries need, header by header, and refuses a layer over the limits
/// before its data is read.
class LayerCensus {
public:
  explicit LayerCensus(Limits limits) : limits_(limits) {}
  /// Counts the entry `e` whose data `tar` reads next (a file's data is read: its all-zero
  /// blocks will be holes). Errors: InvalidArgument naming the entry when a file is over
  /// max_file_bytes (before its data is read) or the layer so far needs more than
  /// max_image_bytes; the tar's errors.
  Status add(archive::TarReader& tar, archive_entry* e);
  /// What the image must hold.
  Geometry geometry() const;

private:
  Limits limits_;
  std::uint64_t blocks_ = 0;
  std::uint64_t entries_ = 0;
  std::uint64_t dirent_bytes_ = 0;
};

/// Writes a layer's entries into an image: regular files, directories, hardlinks, symlinks,
/// devices and fifos with owners, permissions, nanosecond times and xattrs (PAX
/// SCHILY.xattr.*); `.wh.<name>` becomes a 0:0 character device `<name>` and `.wh..wh..opq`
/// the xattr trusted.overlay.opaque=y on its directory. Parents an entry needs before their
/// own entry arrive are made (0755, root, time 0) and take that entry's attributes later.
class LayerImageWriter {
public:
  explicit LayerImageWriter(Ext4Image& image) : image_(image) {}
  /// Adds the entry `e` whose data `tar` reads next.
  /// Errors: InvalidArgument naming the entry (a name with "..", a hardlink to an entry not in
  /// the layer or to a directory, a directory replaced by a non-directory, a whiteout of a
  /// directory of the layer, xattrs that do not fit); the tar's and the image's errors.
  Status add(archive::TarReader& tar, archive_entry* e);
  /// Sets the directories' attributes and xattrs (last, since entries may come in any order).
  /// Errors: the image's.
  Status finish();

private:
  struct Node {
    ext2_ino_t ino = 0;
    bool dir = false;
    InodeAttrs attrs;
    std::map<std::string, std::string> xattrs;
    bool opaque = false;
  };
  static Node file_node(ext2_ino_t ino);
  // The directory at `path` ("" is the root), made with its missing parents.
  Result<Node*> directory(const std::string& path, const std::string& entry);
  // Removes the non-directory at `path` if there is one, so an entry can take its name.
  Status make_room(const std::string& path, ext2_ino_t parent, const std::string& base,
                   const std::string& entry);
  Status write_data(archive::TarReader& tar, ext2_ino_t ino, const std::string& entry);

  Ext4Image& image_;
  std::unordered_map<std::string, Node> nodes_;
  bool root_seen_ = false;
};

} // namespace strata::lcow
