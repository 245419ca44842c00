#include "layer_image.hpp"

#include <algorithm>
#include <span>

namespace strata::lcow {

namespace {

constexpr std::string_view whiteout_prefix = ".wh.";
constexpr std::string_view opaque_marker = ".wh..wh..opq";
constexpr const char* opaque_xattr = "trusted.overlay.opaque";
// Blocks one extent maps (ext4's limit for initialised extents) and extents an inode holds.
constexpr std::uint64_t extent_blocks = 32768;
constexpr std::uint64_t inode_extents = 4;

std::string entry_name(archive_entry* e) {
  const char* n = archive_entry_pathname(e);
  return n ? n : "";
}

// The entry's path below the root: "" for the root, components joined by '/'. "." and empty
// components go; ".." is refused rather than resolved, as nothing in a layer needs it.
Result<std::string> clean(const std::string& name, const std::string& entry) {
  std::string out;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    std::size_t end = name.find('/', pos);
    if (end == std::string::npos)
      end = name.size();
    std::string_view comp(name.data() + pos, end - pos);
    if (comp == "..")
      return invalid_argument("lcow differ: entry \"" + entry + "\": \"..\" in a name");
    if (comp.size() > 255)
      return invalid_argument("lcow differ: entry \"" + entry +
                              "\": a name component is longer than 255 bytes");
    if (!comp.empty() && comp != ".")
      out += (out.empty() ? "" : "/") + std::string(comp);
    pos = end + 1;
  }
  return out;
}

std::pair<std::string, std::string> split(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos)
    return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

std::string join(const std::string& dir, const std::string& base) {
  return dir.empty() ? base : dir + "/" + base;
}

InodeAttrs attrs_of(archive_entry* e) {
  InodeAttrs a;
  a.perm = archive_entry_perm(e) & 07777;
  a.uid = static_cast<std::uint32_t>(archive_entry_uid(e));
  a.gid = static_cast<std::uint32_t>(archive_entry_gid(e));
  a.mtime = {archive_entry_mtime(e), static_cast<std::uint32_t>(archive_entry_mtime_nsec(e))};
  // A tar without PAX atime/ctime: the modification time stands in.
  a.atime = archive_entry_atime_is_set(e)
                ? InodeTime{archive_entry_atime(e),
                            static_cast<std::uint32_t>(archive_entry_atime_nsec(e))}
                : a.mtime;
  a.ctime = archive_entry_ctime_is_set(e)
                ? InodeTime{archive_entry_ctime(e),
                            static_cast<std::uint32_t>(archive_entry_ctime_nsec(e))}
                : a.mtime;
  return a;
}

std::map<std::string, std::string> xattrs_of(archive_entry* e) {
  std::map<std::string, std::string> out;
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
    out[name] = std::string(static_cast<const char*>(value), size);
  return out;
}

std::uint64_t blocks_of(std::uint64_t bytes) {
  return (bytes + block_size - 1) / block_size;
}

// Calls `fn(offset, bytes)` for each piece of the current entry's data, in order.
template <class Fn>
Status for_each_data_block(archive::TarReader& tar, const std::string& entry, Fn fn) {
  for (;;) {
    const void* buf = nullptr;
    std::size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(tar.handle(), &buf, &size, &offset);
    if (rc == ARCHIVE_EOF)
      return {};
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
      return tar.error("reading the data of \"" + entry + "\"");
    STRATA_TRY(fn(static_cast<std::uint64_t>(offset),
                  std::span(static_cast<const std::byte*>(buf), size)));
  }
}

// The number of filesystem blocks of the current entry's data that hold a non-zero byte.
Result<std::uint64_t> data_blocks(archive::TarReader& tar, const std::string& entry) {
  std::uint64_t count = 0;
  std::uint64_t counted = ~std::uint64_t(0); // the last block counted
  STRATA_TRY(for_each_data_block(
      tar, entry, [&](std::uint64_t offset, std::span<const std::byte> data) -> Status {
        for (std::size_t i = 0; i < data.size(); ++i) {
          if (data[i] == std::byte{0})
            continue;
          const std::uint64_t block = (offset + i) / block_size;
          if (block != counted) {
            ++count;
            counted = block;
          }
          // The rest of this block is counted already.
          i = static_cast<std::size_t>((block + 1) * block_size - offset) - 1;
        }
        return {};
      }));
  return count;
}

} // namespace

LayerImageWriter::Node LayerImageWriter::file_node(ext2_ino_t ino) {
  Node n;
  n.ino = ino;
  return n;
}

Status LayerCensus::add(archive::TarReader& tar, archive_entry* e) {
  const std::string entry = entry_name(e);
  ++entries_;
  // A directory entry: 8 bytes, the name, rounded to 4.
  dirent_bytes_ += 8 + ((split(entry).second.size() + 3) & ~std::size_t(3));
  std::uint64_t extra = 0;
  if (archive_entry_hardlink(e) == nullptr) {
    switch (archive_entry_filetype(e)) {
    case AE_IFDIR:
      extra = 1;
      break;
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      extra = target && std::string_view(target).size() >= 60 ? 1 : 0;
      break;
    }
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
      break;
    default: {
      const auto size = static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0));
      if (size > limits_.max_file_bytes)
        return invalid_argument(
            "lcow differ: entry \"" + entry + "\" has " + std::to_string(size) +
            " bytes, over max_file_bytes = " + std::to_string(limits_.max_file_bytes) +
            "; raise max_file_bytes to convert this layer");
      // Blocks with data: all-zero ones stay holes (Ext4Image::write), so reading the data
      // here sizes a sparse file by what it holds, not by its length.
      STRATA_TRY_ASSIGN(const std::uint64_t n, data_blocks(tar, entry));
      extra = n;
      // Beyond the extents the inode holds, a leaf block per 340 extents.
      if (blocks_of(size) > inode_extents * extent_blocks)
        extra += 1 + n / (extent_blocks * 340);
    }
    }
  }
  archive_entry_xattr_reset(e);
  if (archive_entry_xattr_count(e) > 0)
    extra += 1; // perhaps an xattr block
  blocks_ += extra;
  const Geometry g = geometry();
  const std::uint64_t bytes = (g.content_blocks + g.inodes * 256 / block_size) * block_size;
  if (bytes > limits_.max_image_bytes)
    return invalid_argument(
        "lcow differ: at entry \"" + entry + "\" the layer needs " + std::to_string(bytes) +
        " bytes of image, over max_image_bytes = " + std::to_string(limits_.max_image_bytes) +
        "; raise max_image_bytes to convert this layer");
  return {};
}

Geometry LayerCensus::geometry() const {
  // Directory blocks are filled about half on average when entries arrive in any order.
  return {blocks_ + dirent_bytes_ / (block_size / 2) + 1, entries_};
}

Result<LayerImageWriter::Node*> LayerImageWriter::directory(const std::string& path,
                                                            const std::string& entry) {
  if (nodes_.empty()) {
    Node root;
    root.ino = Ext4Image::root;
    root.dir = true;
    root.attrs.perm = 0755;
    nodes_.emplace("", root);
    Node lpf;
    lpf.ino = image_.lost_found();
    lpf.dir = true;
    lpf.attrs.perm = 0700;
    nodes_.emplace("lost+found", lpf);
  }
  if (auto it = nodes_.find(path); it != nodes_.end()) {
    if (!it->second.dir)
      return invalid_argument("lcow differ: entry \"" + entry + "\": \"" + path +
                              "\" is not a directory in the layer");
    return &it->second;
  }
  auto [parent_path, base] = split(path);
  STRATA_TRY_ASSIGN(Node * parent, directory(parent_path, entry));
  STRATA_TRY_ASSIGN(ext2_ino_t ino, image_.make_dir(parent->ino, base));
  Node n;
  n.ino = ino;
  n.dir = true;
  n.attrs.perm = 0755; // as lib/archive makes implied directories; the entry may come later
  return &nodes_.emplace(path, n).first->second;
}

Status LayerImageWriter::make_room(const std::string& path, ext2_ino_t parent,
                                   const std::string& base, const std::string& entry) {
  auto it = nodes_.find(path);
  if (it == nodes_.end())
    return {};
  if (it->second.dir)
    return invalid_argument("lcow differ: entry \"" + entry + "\" would replace the directory \"" +
                            path + "\" of the same layer with a non-directory");
  STRATA_TRY(image_.unlink(parent, base, it->second.ino));
  nodes_.erase(it);
  return {};
}

Status LayerImageWriter::write_data(archive::TarReader& tar, ext2_ino_t ino,
                                    const std::string& entry) {
  return for_each_data_block(tar, entry,
                             [&](std::uint64_t offset, std::span<const std::byte> data) -> Status {
                               if (auto st = image_.write(ino, offset, data); !st)
                                 return st.error().wrap("lcow differ: entry \"" + entry + "\"");
                               return {};
                             });
}

Status LayerImageWriter::add(archive::TarReader& tar, archive_entry* e) {
  const std::string entry = entry_name(e);
  STRATA_TRY_ASSIGN(const std::string path, clean(entry, entry));
  const auto type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);
  if (path.empty()) {
    if (hardlink || type != AE_IFDIR)
      return invalid_argument("lcow differ: entry \"" + entry +
                              "\" names the root, which is a "
                              "directory");
    STRATA_TRY_ASSIGN(Node * root, directory("", entry));
    root->attrs = attrs_of(e);
    root->xattrs = xattrs_of(e);
    return {};
  }
  auto [parent_path, base] = split(path);
  STRATA_TRY_ASSIGN(Node * parent, directory(parent_path, entry));
  const ext2_ino_t pino = parent->ino;

  if (base.starts_with(whiteout_prefix)) {
    if (base == opaque_marker) {
      parent->opaque = true;
      return {};
    }
    const std::string name = base.substr(whiteout_prefix.size());
    const std::string target = join(parent_path, name);
    if (name.empty() || name == "." || name == "..")
      return invalid_argument("lcow differ: entry \"" + entry + "\" is a whiteout of no name");
    STRATA_TRY(make_room(target, pino, name, entry));
    // The overlayfs whiteout: a 0:0 character device, no permissions, root, time 0.
    STRATA_TRY_ASSIGN(ext2_ino_t ino, image_.make_node(pino, name, LINUX_S_IFCHR, InodeAttrs{}));
    nodes_[target] = file_node(ino);
    return {};
  }

  if (hardlink) {
    STRATA_TRY_ASSIGN(const std::string target, clean(hardlink, entry));
    auto it = nodes_.find(target);
    if (it == nodes_.end())
      return invalid_argument("lcow differ: entry \"" + entry + "\" is a hardlink to \"" +
                              std::string(hardlink) + "\", which is not in the layer before it");
    if (it->second.dir)
      return invalid_argument("lcow differ: entry \"" + entry + "\" is a hardlink to \"" +
                              std::string(hardlink) + "\", a directory");
    if (target == path)
      return {};
    const ext2_ino_t ino = it->second.ino;
    STRATA_TRY(make_room(path, pino, base, entry));
    STRATA_TRY(image_.link(pino, base, ino));
    nodes_[path] = file_node(ino);
    return {};
  }

  auto existing = nodes_.find(path);
  if (type == AE_IFDIR) {
    if (existing != nodes_.end() && existing->second.dir) {
      // Made earlier as a parent (or a repeated entry): this entry's attributes win, an
      // opaque marker seen before stays.
      existing->second.attrs = attrs_of(e);
      existing->second.xattrs = xattrs_of(e);
      return {};
    }
    STRATA_TRY(make_room(path, pino, base, entry));
    STRATA_TRY_ASSIGN(ext2_ino_t ino, image_.make_dir(pino, base));
    Node n;
    n.ino = ino;
    n.dir = true;
    n.attrs = attrs_of(e);
    n.xattrs = xattrs_of(e);
    nodes_[path] = std::move(n);
    return {};
  }

  STRATA_TRY(make_room(path, pino, base, entry));
  const InodeAttrs attrs = attrs_of(e);
  ext2_ino_t ino = 0;
  switch (type) {
  case AE_IFLNK: {
    const char* target = archive_entry_symlink(e);
    InodeAttrs link_attrs = attrs;
    link_attrs.perm = 0777; // what Linux gives every symlink (compactext4 ORs it in too)
    STRATA_TRY_ASSIGN(ino, image_.make_symlink(pino, base, target ? target : "", link_attrs));
    break;
  }
  case AE_IFCHR:
  case AE_IFBLK: {
    STRATA_TRY_ASSIGN(
        ino, image_.make_node(pino, base, type == AE_IFCHR ? LINUX_S_IFCHR : LINUX_S_IFBLK, attrs,
                              static_cast<std::uint32_t>(archive_entry_rdevmajor(e)),
                              static_cast<std::uint32_t>(archive_entry_rdevminor(e))));
    break;
  }
  case AE_IFIFO: {
    STRATA_TRY_ASSIGN(ino, image_.make_node(pino, base, LINUX_S_IFIFO, attrs));
    break;
  }
  default: {
    // Regular files, and (as compactext4 does) any type ext4 has no other form for.
    STRATA_TRY_ASSIGN(ino, image_.make_node(pino, base, LINUX_S_IFREG, attrs));
    STRATA_TRY(write_data(tar, ino, entry));
    STRATA_TRY(image_.set_size(
        ino, static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0))));
  }
  }
  if (auto st = image_.set_xattrs(ino, xattrs_of(e)); !st)
    return st.error().wrap("lcow differ: entry \"" + entry + "\"");
  nodes_[path] = file_node(ino);
  return {};
}

Status LayerImageWriter::finish() {
  if (nodes_.empty())
    STRATA_TRY(directory("", "/"));
  for (auto& [path, node] : nodes_) {
    if (!node.dir)
      continue;
    STRATA_TRY(image_.set_attrs(node.ino, node.attrs));
    auto xattrs = node.xattrs;
    if (node.opaque)
      xattrs[opaque_xattr] = "y";
    if (auto st = image_.set_xattrs(node.ino, xattrs); !st)
      return st.error().wrap("lcow differ: directory \"" + path + "\"");
  }
  return {};
}

} // namespace strata::lcow
