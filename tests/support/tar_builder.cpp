#include "tar_builder.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace strata::testing {

TarBuilder& TarBuilder::add(TarEntry e) {
  entries_.push_back(std::move(e));
  return *this;
}
TarBuilder& TarBuilder::file(std::string name, std::string data, mode_t mode) {
  TarEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.mode = mode;
  return add(std::move(e));
}
TarBuilder& TarBuilder::dir(std::string name, mode_t mode) {
  TarEntry e;
  e.type = TarEntry::Type::Dir;
  e.name = std::move(name);
  e.mode = mode;
  return add(std::move(e));
}
TarBuilder& TarBuilder::symlink(std::string name, std::string target) {
  TarEntry e;
  e.type = TarEntry::Type::Symlink;
  e.name = std::move(name);
  e.link = std::move(target);
  e.mode = 0777;
  return add(std::move(e));
}
TarBuilder& TarBuilder::hardlink(std::string name, std::string target) {
  TarEntry e;
  e.type = TarEntry::Type::Hardlink;
  e.name = std::move(name);
  e.link = std::move(target);
  return add(std::move(e));
}

namespace {
la_ssize_t append_cb(struct archive*, void* out, const void* buf, size_t n) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}
} // namespace

std::string TarBuilder::bytes() const {
  std::string out;
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_write_new(),
                                                              archive_write_free);
  // pax_restricted leaves atime out; full pax keeps it, so use it only when a test asks.
  const bool any_atime =
      std::any_of(entries_.begin(), entries_.end(), [](const TarEntry& t) { return t.atime >= 0; });
  if (any_atime)
    archive_write_set_format_pax(a.get());
  else
    archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_per_block(a.get(), 512);
  archive_write_open(a.get(), &out, nullptr, append_cb, nullptr);
  for (const auto& t : entries_) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                               archive_entry_free);
    archive_entry_set_pathname(e.get(), t.name.c_str());
    archive_entry_set_perm(e.get(), t.mode);
    archive_entry_set_uid(e.get(), t.uid);
    archive_entry_set_gid(e.get(), t.gid);
    archive_entry_set_mtime(e.get(), t.mtime, t.mtime_nsec);
    if (t.atime >= 0)
      archive_entry_set_atime(e.get(), t.atime, 0);
    for (const auto& [k, v] : t.xattrs)
      archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
    switch (t.type) {
    case TarEntry::Type::File:
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(t.data.size()));
      break;
    case TarEntry::Type::Dir:
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      break;
    case TarEntry::Type::Symlink:
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), t.link.c_str());
      break;
    case TarEntry::Type::Hardlink:
      archive_entry_set_filetype(e.get(), AE_IFREG);
      archive_entry_set_hardlink(e.get(), t.link.c_str());
      break;
    case TarEntry::Type::Char:
    case TarEntry::Type::Block:
      archive_entry_set_filetype(e.get(), t.type == TarEntry::Type::Char ? AE_IFCHR : AE_IFBLK);
      archive_entry_set_rdevmajor(e.get(), t.major);
      archive_entry_set_rdevminor(e.get(), t.minor);
      break;
    case TarEntry::Type::Fifo:
      archive_entry_set_filetype(e.get(), AE_IFIFO);
      break;
    }
    if (archive_write_header(a.get(), e.get()) < ARCHIVE_WARN)
      throw std::runtime_error(std::string("tar_builder: ") + archive_error_string(a.get()));
    if (t.type == TarEntry::Type::File && !t.data.empty())
      archive_write_data(a.get(), t.data.data(), t.data.size());
  }
  archive_write_close(a.get());
  return out;
}

namespace {
void put_octal(char* field, std::size_t width, std::uint64_t v) {
  // width-1 octal digits and a NUL, as ustar writers do.
  std::string digits(width - 1, '0');
  for (std::size_t i = width - 1; i-- > 0 && v > 0; v >>= 3)
    digits[i] = static_cast<char>('0' + (v & 7));
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

void put_string(char* field, std::size_t width, const std::string& v) {
  std::memcpy(field, v.data(), std::min(width, v.size()));
}
} // namespace

std::string raw_tar(const std::vector<RawEntry>& entries, bool end_blocks) {
  std::string out;
  for (const auto& e : entries) {
    char h[512] = {};
    put_string(h, 100, e.name);
    put_octal(h + 100, 8, e.mode);
    put_octal(h + 108, 8, 0);
    put_octal(h + 116, 8, 0);
    if (e.size_field.empty())
      put_octal(h + 124, 12, e.data.size());
    else
      put_string(h + 124, 12, e.size_field);
    put_octal(h + 136, 12, 1700000000);
    h[156] = e.typeflag;
    put_string(h + 157, 100, e.linkname);
    std::memcpy(h + 257,
                "ustar\0"
                "00",
                8);
    put_octal(h + 329, 8, e.devmajor);
    put_octal(h + 337, 8, e.devminor);
    std::memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (unsigned char c : h)
      sum += c;
    if (e.bad_checksum)
      sum += 1;
    put_octal(h + 148, 7, sum);
    out.append(h, sizeof h);
    out += e.data;
    out.append((512 - e.data.size() % 512) % 512, '\0');
  }
  if (end_blocks)
    out.append(1024, '\0');
  return out;
}

RawEntry pax_header(const std::map<std::string, std::string>& records, char typeflag) {
  RawEntry e;
  e.name = "PaxHeader";
  e.typeflag = typeflag;
  for (const auto& [k, v] : records) {
    // "<len> <key>=<value>\n" where <len> counts itself.
    std::string rest = " " + k + "=" + v + "\n";
    std::size_t len = rest.size() + 1;
    while (std::to_string(len).size() + rest.size() != len)
      ++len;
    e.data += std::to_string(len) + rest;
  }
  return e;
}

contentio::Source string_source(std::string data, std::size_t step) {
  auto state = std::make_shared<std::pair<std::string, std::size_t>>(std::move(data), 0);
  return [state, step](std::span<std::byte> buf) -> Result<std::size_t> {
    auto& [d, off] = *state;
    std::size_t n = std::min({buf.size(), step, d.size() - off});
    std::memcpy(buf.data(), d.data() + off, n);
    off += n;
    return n;
  };
}

std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  out.resize(ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3));
  return out;
}

} // namespace strata::testing
