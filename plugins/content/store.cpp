#include "store.hpp"

#include "reader.hpp"
#include "sidecar.hpp"
#include "writer.hpp"

#include <strata/digest/sha256.hpp>
#include <strata/plugin/filters.hpp>
#include <strata/plugin/guard.hpp>
#include <strata/plugin/labels.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::content {

namespace {

Timestamp mtime_of(const struct stat& st) {
  return Timestamp(std::chrono::duration_cast<Timestamp::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

Status check_digest(const std::string& digest) {
  auto st = digest::validate(digest);
  if (!st)
    return st.error().wrap("content");
  return {};
}

Error missing(const std::string& digest) {
  return not_found("content: blob " + digest + " not found");
}

bool is_hex64(std::string_view name) {
  return name.size() == 64 && std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

} // namespace

Result<std::shared_ptr<LocalStore>> LocalStore::open(const std::string& root) {
  return guard("content: open", [&]() -> Result<std::shared_ptr<LocalStore>> {
    Layout layout(root);
    if (auto st = layout.create(); !st)
      return std::move(st).error();
    return std::make_shared<LocalStore>(root);
  });
}

LocalStore::LocalStore(const std::string& root) : core_(std::make_shared<Core>(root)) {}

Result<ContentInfo> LocalStore::stat_blob(const std::string& digest) {
  const std::string hex(hex_of(digest));
  const std::string path = core_->layout.blob_path(hex);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT)
      return missing(digest);
    return fs::sys_error("cannot stat blob " + path, errno);
  }
  ContentInfo info;
  info.digest = digest;
  info.size = static_cast<std::int64_t>(st.st_size);
  // A blob's mtime is when its last byte was written, i.e. its commit; blobs are never modified.
  info.created = info.updated = mtime_of(st);
  auto sidecar = read_sidecar(core_->layout, hex);
  if (!sidecar)
    return std::move(sidecar).error();
  if (*sidecar) {
    info.labels = std::move((*sidecar)->labels);
    info.updated = std::max(info.created, (*sidecar)->updated);
  }
  return info;
}

Result<ContentInfo> LocalStore::info(const std::string& digest) {
  return guard("content: info", [&]() -> Result<ContentInfo> {
    if (auto st = check_digest(digest); !st)
      return std::move(st).error();
    return stat_blob(digest);
  });
}

Result<ContentInfo> LocalStore::update(const ContentInfo& info,
                                       const std::vector<std::string>& fieldpaths) {
  return guard("content: update", [&]() -> Result<ContentInfo> {
    if (auto st = check_digest(info.digest); !st)
      return std::move(st).error();
    // Every path is checked before anything changes, so a bad one leaves the blob untouched.
    if (auto st = check_label_paths(fieldpaths); !st)
      return std::move(st).error().wrap("content");

    std::lock_guard lock(core_->labels_mu);
    auto current = stat_blob(info.digest);
    if (!current)
      return current;
    auto labels = update_labels(current->labels, info.labels, fieldpaths);
    if (!labels)
      return std::move(labels).error().wrap("content");
    const std::string hex(hex_of(info.digest));
    Sidecar sidecar{*labels, std::chrono::system_clock::now()};
    if (auto st = write_sidecar(core_->layout, hex, sidecar); !st)
      return std::move(st).error();
    current->labels = std::move(*labels);
    current->updated = std::max(current->created, sidecar.updated);
    return current;
  });
}

Status LocalStore::walk(const ContentWalkFn& fn, const std::vector<std::string>& filters) {
  return guard("content: walk", [&]() -> Status {
    auto parsed = parse_content_filters(filters);
    if (!parsed)
      return std::move(parsed).error().wrap("content");
    // Names first, then one info() each without holding the directory open, so fn may call back
    // into the store (even remove what it is shown).
    std::vector<std::string> names;
    {
      DIR* dir = ::opendir(core_->layout.blobs.c_str());
      if (!dir)
        return fs::sys_error("cannot list " + core_->layout.blobs, errno);
      errno = 0;
      while (struct dirent* e = ::readdir(dir))
        if (is_hex64(e->d_name))
          names.emplace_back(e->d_name);
      int err = errno;
      ::closedir(dir);
      if (err != 0)
        return fs::sys_error("cannot list " + core_->layout.blobs, err);
    }
    std::sort(names.begin(), names.end());
    for (const auto& hex : names) {
      auto info = stat_blob("sha256:" + hex);
      if (!info) {
        if (info.error().code() == Code::NotFound)
          continue; // removed since it was listed
        return std::move(info).error();
      }
      if (!matches(*parsed, *info))
        continue;
      if (auto st = fn(*info); !st)
        return st;
    }
    return {};
  });
}

Status LocalStore::remove(const std::string& digest) {
  return guard("content: remove", [&]() -> Status {
    if (auto st = check_digest(digest); !st)
      return st;
    const std::string hex(hex_of(digest));
    const std::string path = core_->layout.blob_path(hex);
    std::lock_guard lock(core_->labels_mu);
    if (::unlink(path.c_str()) != 0) {
      if (errno == ENOENT)
        return missing(digest);
      return fs::sys_error("cannot remove blob " + path, errno);
    }
    if (auto st = fs::fsync_dir(core_->layout.blobs); !st)
      return st;
    // The sidecar goes last: after a crash in between, a stale sidecar is dropped or replaced by
    // the next commit of the same digest (writer.cpp), never attached to a blob it did not label.
    return remove_sidecar(core_->layout, hex);
  });
}

Result<std::shared_ptr<ReaderAt>> LocalStore::reader(const std::string& digest) {
  return guard("content: reader", [&]() -> Result<std::shared_ptr<ReaderAt>> {
    if (auto st = check_digest(digest); !st)
      return std::move(st).error();
    auto r = FileReader::open(core_->layout.blob_path(hex_of(digest)), digest);
    if (!r)
      return std::move(r).error();
    return std::shared_ptr<ReaderAt>(std::move(*r));
  });
}

Result<std::unique_ptr<ContentWriter>> LocalStore::writer(const std::string& ref,
                                                          const Descriptor& expected) {
  return guard("content: writer", [&]() -> Result<std::unique_ptr<ContentWriter>> {
    if (ref.empty())
      return invalid_argument("content: the ingest ref must not be empty");
    if (!expected.digest.empty())
      if (auto st = check_digest(expected.digest); !st)
        return std::move(st).error();
    if (expected.size < 0)
      return invalid_argument("content: expected size " + std::to_string(expected.size) +
                              " of ref \"" + ref + "\" is negative");
    auto w = IngestWriter::open(core_, ref, expected);
    if (!w)
      return std::move(w).error();
    return std::unique_ptr<ContentWriter>(std::move(*w));
  });
}

} // namespace strata::content
