#include "tar_writer.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <memory>
#include <vector>

namespace strata::archive::detail {

TarWriter::TarWriter(const contentio::Sink& out) : out_(out), a_(archive_write_new()) {
  // PAX only where ustar cannot say it (long names, xattrs, big ids), so the bytes depend on
  // nothing but the tree; 512-byte blocks: no padding beyond the two end-of-archive blocks.
  archive_write_set_format_pax_restricted(a_);
  archive_write_set_bytes_per_block(a_, 512);
  archive_write_set_bytes_in_last_block(a_, 1);
  archive_write_open(a_, this, nullptr, &TarWriter::write_cb, nullptr);
}

TarWriter::~TarWriter() {
  archive_write_free(a_);
}

la_ssize_t TarWriter::write_cb(struct archive* a, void* self, const void* buf, size_t n) {
  auto* w = static_cast<TarWriter*>(self);
  auto bytes = std::span(static_cast<const std::byte*>(buf), n);
  if (auto st = w->out_(bytes); !st) {
    w->sink_error_ = st.error();
    archive_set_error(a, EIO, "%s", st.error().message().c_str());
    return -1;
  }
  w->hash_.update(bytes);
  w->size_ += static_cast<std::int64_t>(n);
  return static_cast<la_ssize_t>(n);
}

Error TarWriter::error(std::string_view what) const {
  if (sink_error_)
    return *sink_error_;
  const char* msg = archive_error_string(a_);
  return internal_error("writing the layer tar: " + std::string(what) + ": " +
                        (msg ? msg : "libarchive error"));
}

Status TarWriter::header(archive_entry* e, const std::string& name) {
  if (archive_write_header(a_, e) < ARCHIVE_WARN)
    return error("header of " + name);
  ++entries_;
  return {};
}

Status TarWriter::entry(const std::string& name, const TreeEntry& te, std::int64_t mtime, int dirfd,
                        const std::string& base, const std::string& hardlink_to) {
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  const auto& st = te.st;
  archive_entry_set_pathname(e.get(), te.is_dir() ? (name + "/").c_str() : name.c_str());
  archive_entry_set_perm(e.get(), st.st_mode & 07777);
  archive_entry_set_uid(e.get(), st.st_uid);
  archive_entry_set_gid(e.get(), st.st_gid);
  archive_entry_set_mtime(e.get(), mtime, 0);
  for (const auto& [k, v] : te.xattrs)
    archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());
  if (!hardlink_to.empty()) {
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_hardlink(e.get(), hardlink_to.c_str());
    archive_entry_set_size(e.get(), 0);
    return header(e.get(), name);
  }
  switch (st.st_mode & S_IFMT) {
  case S_IFDIR:
    archive_entry_set_filetype(e.get(), AE_IFDIR);
    break;
  case S_IFLNK:
    archive_entry_set_filetype(e.get(), AE_IFLNK);
    archive_entry_set_symlink(e.get(), te.link_target.c_str());
    break;
  case S_IFCHR:
  case S_IFBLK:
    archive_entry_set_filetype(e.get(), S_ISCHR(st.st_mode) ? AE_IFCHR : AE_IFBLK);
    archive_entry_set_rdevmajor(e.get(), major(st.st_rdev));
    archive_entry_set_rdevminor(e.get(), minor(st.st_rdev));
    break;
  case S_IFIFO:
    archive_entry_set_filetype(e.get(), AE_IFIFO);
    break;
  case S_IFREG:
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_size(e.get(), st.st_size);
    break;
  default:
    return {}; // sockets have no place in a layer
  }
  if (auto s = header(e.get(), name); !s || !S_ISREG(st.st_mode))
    return s;

  fs::UniqueFd fd(::openat(dirfd, base.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd)
    return fs::sys_error("cannot open " + name, errno);
  std::vector<char> buf(256 * 1024);
  std::int64_t left = st.st_size;
  while (left > 0) {
    ssize_t n =
        ::read(fd.get(), buf.data(), std::min<std::int64_t>(left, std::int64_t(buf.size())));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fs::sys_error("cannot read " + name, errno);
    }
    if (n == 0)
      return internal_error(name + " shrank while it was being written into the layer");
    if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) < 0)
      return error("data of " + name);
    left -= n;
  }
  return {};
}

Status TarWriter::whiteout(const std::string& name) {
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0);
  archive_entry_set_size(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0); // whiteouts never take SOURCE_DATE_EPOCH (the seed)
  return header(e.get(), name);
}

Status TarWriter::close() {
  if (archive_write_close(a_) != ARCHIVE_OK)
    return error("end of archive");
  return {};
}

} // namespace strata::archive::detail
