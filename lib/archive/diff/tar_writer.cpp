#include "tar_writer.hpp"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <memory>
#include <vector>

namespace strata::archive::detail {

namespace {

using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

EntryPtr new_entry() {
  return EntryPtr(archive_entry_new(), archive_entry_free);
}

} // namespace

TarWriter::TarWriter(const contentio::Sink& out) : out_(out), a_(archive_write_new()) {
  // libarchive converts names to UTF-8 from the thread's LC_CTYPE: under "C" a UTF-8 name gets
  // "hdrcharset=BINARY", under a UTF-8 locale it does not. Pinning C.UTF-8 for the life of the
  // writer makes the bytes independent of the caller's locale. Without C.UTF-8 (glibc < 2.35
  // without the Debian locale) "C" is pinned: still independent of the caller, but such a host
  // writes hdrcharset=BINARY before non-ASCII names.
  locale_ = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", nullptr);
  if (!locale_)
    locale_ = ::newlocale(LC_CTYPE_MASK, "C", nullptr);
  if (locale_)
    previous_locale_ = ::uselocale(locale_);

  // Restricted PAX: an extended header only where ustar cannot say it (long or non-ASCII names,
  // big ids, xattrs), as Go's archive/tar does for containerd, and never atime/ctime records.
  // Xattrs only as SCHILY.xattr.* (not also LIBARCHIVE.xattr.*, which GNU tar warns about).
  // 512-byte blocks and a last block of 1 byte: the output is the entries plus the two zero
  // end-of-archive blocks, with no padding up to a 10 KiB record.
  if (archive_write_set_format_pax_restricted(a_) != ARCHIVE_OK ||
      archive_write_set_format_option(a_, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a_, 512) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a_, 1) != ARCHIVE_OK ||
      archive_write_open(a_, this, nullptr, &TarWriter::write_cb, nullptr) != ARCHIVE_OK)
    init_error_ = error("setting up the tar writer");
}

TarWriter::~TarWriter() {
  if (!closed_) {
    // Abandoned after an error: nothing more reaches the sink, but the close still runs, as
    // libarchive before 3.7 frees its block buffer only there (not in free after a failed write).
    abandoned_ = true;
    archive_write_close(a_);
  }
  archive_write_free(a_);
  if (locale_) {
    ::uselocale(previous_locale_);
    ::freelocale(locale_);
  }
}

la_ssize_t TarWriter::write_cb(struct archive* a, void* self, const void* buf, size_t n) {
  auto* w = static_cast<TarWriter*>(self);
  if (w->abandoned_ || w->sink_error_) {
    archive_set_error(a, EIO, "the layer tar was abandoned");
    return -1;
  }
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
  if (init_error_)
    return *init_error_;
  // ARCHIVE_WARN means a name did not convert to UTF-8 and went out as raw bytes with
  // hdrcharset=BINARY: the entry is complete, so it is not an error.
  if (archive_write_header(a_, e) < ARCHIVE_WARN)
    return error("header of " + name);
  ++entries_;
  return {};
}

Status TarWriter::entry(const std::string& name, const TreeEntry& te, std::int64_t mtime, int dirfd,
                        const std::string& base, const std::string& hardlink_to) {
  EntryPtr e = new_entry();
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
  return copy_content(name, te, dirfd, base);
}

Status TarWriter::copy_content(const std::string& name, const TreeEntry& te, int dirfd,
                               const std::string& base) {
  fs::UniqueFd fd(::openat(dirfd, base.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd)
    return fs::sys_error("cannot open " + name, errno);
  // The header already promised st_size bytes of this inode; another file put in its place
  // since the walk stat'ed it would make the entry lie.
  struct stat now {};
  if (::fstat(fd.get(), &now) != 0)
    return fs::sys_error("cannot stat " + name, errno);
  if (now.st_dev != te.st.st_dev || now.st_ino != te.st.st_ino)
    return internal_error(name + " was replaced while the diff was being written");
  std::vector<char> buf(256 * 1024);
  std::int64_t left = te.st.st_size;
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
  EntryPtr e = new_entry();
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0);
  archive_entry_set_size(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0); // whiteouts never take SOURCE_DATE_EPOCH (the seed)
  return header(e.get(), name);
}

Status TarWriter::close() {
  if (init_error_)
    return *init_error_;
  closed_ = true;
  if (archive_write_close(a_) != ARCHIVE_OK)
    return error("end of archive");
  return {};
}

} // namespace strata::archive::detail
