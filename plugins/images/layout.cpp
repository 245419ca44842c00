#include "layout.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/root.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace strata::images {
namespace {

Error oversized(const std::string& name, const std::string& where, std::int64_t size,
                std::size_t limit) {
  return invalid_argument("oversized manifest: " + name + " in " + where + " is " +
                          std::to_string(size) + " bytes; manifests, indexes, configs and " +
                          "index.json may have at most " + std::to_string(limit) +
                          " bytes (max_manifest_bytes)");
}

Error not_regular(const std::string& name, const std::string& where) {
  return invalid_argument(name + " in " + where + " is not a regular file");
}

// ---- directory ----

class DirectoryLayout final : public LayoutFiles {
public:
  DirectoryLayout(fs::Root root, std::string describe)
      : root_(std::move(root)), describe_(std::move(describe)) {}

  const std::string& describe() const override { return describe_; }

  Result<std::map<std::string, std::string>> read_small(const std::set<std::string>& names,
                                                        std::size_t limit) override {
    std::map<std::string, std::string> out;
    for (const auto& name : names) {
      auto file = open(name);
      if (!file) {
        if (file.error().code() == Code::NotFound)
          continue;
        return std::move(file).error();
      }
      if (file->size > static_cast<std::int64_t>(limit))
        return oversized(name, describe_, file->size, limit);
      std::string data(static_cast<std::size_t>(file->size), '\0');
      std::size_t got = 0;
      while (got < data.size()) {
        auto n = ::read(file->fd.get(), data.data() + got, data.size() - got);
        if (n < 0 && errno == EINTR)
          continue;
        if (n < 0)
          return fs::sys_error("cannot read " + name + " in " + describe_, errno);
        if (n == 0)
          break; // shrank while read: the digest check names it
        got += static_cast<std::size_t>(n);
      }
      data.resize(got);
      out.emplace(name, std::move(data));
    }
    return out;
  }

  Status stream(const std::set<std::string>& names, const StreamFn& fn) override {
    for (const auto& name : names) {
      auto file = open(name);
      if (!file) {
        if (file.error().code() == Code::NotFound)
          return invalid_argument(name + " is missing from " + describe_);
        return std::move(file).error();
      }
      const int fd = file->fd.get();
      const std::string what = name + " in " + describe_;
      contentio::Source source = [fd, &what](std::span<std::byte> buf) -> Result<std::size_t> {
        for (;;) {
          auto n = ::read(fd, buf.data(), buf.size());
          if (n >= 0)
            return static_cast<std::size_t>(n);
          if (errno != EINTR)
            return fs::sys_error("cannot read " + what, errno);
        }
      };
      if (auto st = fn(name, file->size, source); !st)
        return st;
    }
    return {};
  }

private:
  struct File {
    fs::UniqueFd fd;
    std::int64_t size;
  };

  // O_NONBLOCK: opening a FIFO planted in the layout must not block the import; anything that
  // is not a regular file is refused right after.
  Result<File> open(const std::string& name) const {
    auto fd = root_.open_at(name, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (!fd)
      return std::move(fd).error();
    struct stat st {};
    if (::fstat(fd->get(), &st) != 0)
      return fs::sys_error("cannot stat " + name + " in " + describe_, errno);
    if (!S_ISREG(st.st_mode))
      return not_regular(name, describe_);
    return File{std::move(*fd), static_cast<std::int64_t>(st.st_size)};
  }

  fs::Root root_;
  std::string describe_;
};

// ---- tar ----

// One pass over the tar; closes the archive however the pass ends.
class TarPass {
public:
  explicit TarPass(const std::string& path) : a_(archive_read_new()) {
    archive_read_support_filter_all(a_);
    archive_read_support_format_tar(a_);
    archive_read_support_format_gnutar(a_);
    ok_ = archive_read_open_filename(a_, path.c_str(), 1 << 16) == ARCHIVE_OK;
  }
  ~TarPass() { archive_read_free(a_); }
  TarPass(const TarPass&) = delete;
  TarPass& operator=(const TarPass&) = delete;

  archive* get() const { return a_; }
  bool ok() const { return ok_; }
  std::string error() const {
    const char* e = archive_error_string(a_);
    return e ? e : "unknown libarchive error";
  }

private:
  archive* a_;
  bool ok_ = false;
};

class TarLayout final : public LayoutFiles {
public:
  TarLayout(std::string path, std::string describe)
      : path_(std::move(path)), describe_(std::move(describe)) {}

  const std::string& describe() const override { return describe_; }

  Result<std::map<std::string, std::string>> read_small(const std::set<std::string>& names,
                                                        std::size_t limit) override {
    std::map<std::string, std::string> out;
    auto st = each_wanted(
        names,
        [&](const std::string& name, std::int64_t size, const contentio::Source& source) -> Status {
          if (size > static_cast<std::int64_t>(limit))
            return oversized(name, describe_, size, limit);
          std::string data(static_cast<std::size_t>(size), '\0');
          std::size_t got = 0;
          while (got < data.size()) {
            auto n =
                source(std::as_writable_bytes(std::span(data.data() + got, data.size() - got)));
            if (!n)
              return std::move(n).error();
            if (*n == 0)
              break;
            got += *n;
          }
          data.resize(got);
          out.emplace(name, std::move(data));
          return {};
        });
    if (!st)
      return std::move(st).error();
    return out;
  }

  Status stream(const std::set<std::string>& names, const StreamFn& fn) override {
    std::set<std::string> seen;
    auto st = each_wanted(
        names,
        [&](const std::string& name, std::int64_t size, const contentio::Source& source) -> Status {
          seen.insert(name);
          return fn(name, size, source);
        });
    if (!st)
      return st;
    for (const auto& name : names)
      if (!seen.count(name))
        return invalid_argument(name + " is missing from " + describe_);
    return {};
  }

private:
  // One pass: `fn` for each entry named in `names`. A wanted name that is not a regular file,
  // or that appears twice (tar keeps the last, a reader of the first would see other bytes), is
  // refused.
  Status each_wanted(const std::set<std::string>& names, const StreamFn& fn) {
    TarPass pass(path_);
    if (!pass.ok())
      return invalid_argument("cannot read " + describe_ + ": " + pass.error());
    std::set<std::string> done;
    for (;;) {
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(pass.get(), &entry);
      if (r == ARCHIVE_EOF)
        break;
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
        return invalid_argument("cannot read " + describe_ + ": " + pass.error());
      const char* raw = archive_entry_pathname(entry);
      auto name = fs::clean_relative(raw ? raw : "");
      if (!name || !names.count(*name))
        continue; // libarchive skips the data at the next header
      if (done.count(*name))
        return invalid_argument(*name + " appears twice in " + describe_);
      done.insert(*name);
      if (archive_entry_filetype(entry) != AE_IFREG || archive_entry_hardlink(entry) != nullptr)
        return not_regular(*name, describe_);
      const std::string what = *name + " in " + describe_;
      archive* a = pass.get();
      contentio::Source source = [a, &what](std::span<std::byte> buf) -> Result<std::size_t> {
        auto n = archive_read_data(a, buf.data(), buf.size());
        if (n < 0)
          return invalid_argument("cannot read " + what + ": " + archive_error_string(a));
        return static_cast<std::size_t>(n);
      };
      if (auto st = fn(*name, archive_entry_size(entry), source); !st)
        return st;
    }
    return {};
  }

  std::string path_;
  std::string describe_;
};

} // namespace

Result<std::unique_ptr<LayoutFiles>> open_layout(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return not_found("no OCI image layout at " + path + " (the path is read by stratad, on " +
                       "its own filesystem)");
    return fs::sys_error("cannot stat " + path, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    auto root = fs::Root::open(path);
    if (!root)
      return std::move(root).error();
    return std::unique_ptr<LayoutFiles>(
        std::make_unique<DirectoryLayout>(std::move(*root), "directory " + path));
  }
  if (S_ISREG(st.st_mode))
    return std::unique_ptr<LayoutFiles>(std::make_unique<TarLayout>(path, "tar " + path));
  return invalid_argument(path + " is neither a directory nor a tar file holding an OCI image " +
                          "layout");
}

} // namespace strata::images
