#include "writer.hpp"

#include "sidecar.hpp"

#include <strata/plugin/guard.hpp>

#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <stdio.h> // renameat2, RENAME_NOREPLACE
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::content {

namespace {

std::string quoted(const std::string& s) {
  return "\"" + s + "\"";
}

// Opens and locks the ingest directory. A directory we locked may have been removed by the
// writer that held it just before (it deletes, then unlocks), so the lock only counts when the
// path still names the directory we hold; otherwise try again on the new one.
Result<fs::UniqueFd> lock_ingest_dir(const std::string& dir, const std::string& ref) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    if (::mkdir(dir.c_str(), dir_mode) != 0 && errno != EEXIST)
      return fs::sys_error("cannot create ingest directory " + dir, errno);
    fs::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT)
        continue;
      return fs::sys_error("cannot open ingest directory " + dir, errno);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        return unavailable("content: ref " + quoted(ref) +
                           " is locked: another writer is ingesting it; retry when it is done");
      return fs::sys_error("cannot lock ingest directory " + dir, errno);
    }
    struct stat held {
    }, named{};
    if (::fstat(fd.get(), &held) != 0)
      return fs::sys_error("cannot stat ingest directory " + dir, errno);
    if (::stat(dir.c_str(), &named) == 0 && named.st_ino == held.st_ino &&
        named.st_dev == held.st_dev)
      return fd;
  }
  return unavailable("content: ref " + quoted(ref) +
                     " is contended: its ingest directory kept being replaced; retry");
}

} // namespace

Result<std::unique_ptr<IngestWriter>>
IngestWriter::open(std::shared_ptr<Core> core, const std::string& ref, const Descriptor& expected) {
  std::string dir = core->layout.ingest_dir(ref);
  auto dir_fd = lock_ingest_dir(dir, ref);
  if (!dir_fd)
    return std::move(dir_fd).error();
  // O_TRUNC: ingests are not resumable, whatever an earlier writer of this ref left is dropped.
  fs::UniqueFd data(
      ::openat(dir_fd->get(), "data", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!data)
    return fs::sys_error("cannot create " + dir + "/data", errno);
  // The ref, for an operator wondering what a hashed directory name belongs to.
  fs::UniqueFd ref_fd(
      ::openat(dir_fd->get(), "ref", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!ref_fd)
    return fs::sys_error("cannot create " + dir + "/ref", errno);
  if (auto st = fs::write_all(ref_fd.get(), std::as_bytes(std::span(ref.data(), ref.size())),
                              dir + "/ref");
      !st)
    return std::move(st).error();
  return std::unique_ptr<IngestWriter>(new IngestWriter(
      std::move(core), ref, expected, std::move(dir), std::move(*dir_fd), std::move(data)));
}

IngestWriter::IngestWriter(std::shared_ptr<Core> core, std::string ref, Descriptor expected,
                           std::string dir, fs::UniqueFd dir_fd, fs::UniqueFd data_fd)
    : core_(std::move(core)), ref_(std::move(ref)), expected_(std::move(expected)),
      dir_(std::move(dir)), dir_fd_(std::move(dir_fd)), data_fd_(std::move(data_fd)) {}

IngestWriter::~IngestWriter() {
  discard();
}

void IngestWriter::discard() noexcept {
  if (!dir_fd_)
    return;
  data_fd_.reset();
  ::unlinkat(dir_fd_.get(), "data", 0);
  ::unlinkat(dir_fd_.get(), "ref", 0);
  ::rmdir(dir_.c_str());
  dir_fd_.reset();
}

Status IngestWriter::write(std::span<const std::byte> data) {
  return guard("content: write", [&]() -> Status {
    if (finished_ || !data_fd_)
      return failed_precondition("content: ref " + quoted(ref_) + " was already committed");
    if (auto st = fs::write_all(data_fd_.get(), data, "ingest " + quoted(ref_)); !st)
      return st;
    hash_.update(data);
    offset_ += static_cast<std::int64_t>(data.size());
    return {};
  });
}

Status IngestWriter::commit(std::int64_t expected_size, const std::string& expected_digest,
                            const Labels& labels) {
  return guard("content: commit", [&]() -> Status {
    if (finished_)
      return failed_precondition("content: ref " + quoted(ref_) + " was already committed");
    finished_ = true;
    Status st = do_commit(expected_size, expected_digest, labels);
    // Whatever happened, the ingest is over: nothing of it may stay behind (on success the data
    // file has moved away and only the directory and its ref file remain).
    discard();
    return st;
  });
}

Status IngestWriter::do_commit(std::int64_t expected_size, const std::string& expected_digest,
                               const Labels& labels) {
  // The commit's own expectations win; the ones given to writer() fill in what it leaves out.
  const std::int64_t want_size = expected_size > 0 ? expected_size : expected_.size;
  const std::string& want_digest = expected_digest.empty() ? expected_.digest : expected_digest;
  if (!want_digest.empty())
    if (auto st = digest::validate(want_digest); !st)
      return st.error().wrap("content: commit of ref " + quoted(ref_));
  const std::string actual = hash_.finish();
  if (want_size > 0 && offset_ != want_size)
    return failed_precondition("content: commit of ref " + quoted(ref_) +
                               ": size mismatch: " + std::to_string(offset_) + " bytes written, " +
                               std::to_string(want_size) + " expected; nothing was committed");
  if (!want_digest.empty() && actual != want_digest)
    return failed_precondition("content: commit of ref " + quoted(ref_) +
                               ": digest mismatch: the data is " + actual + ", " + want_digest +
                               " was expected; nothing was committed");

  // Data before name: the bytes are durable before the blob can be seen under its digest.
  if (::fsync(data_fd_.get()) != 0)
    return fs::sys_error("cannot sync ingest " + quoted(ref_), errno);
  if (::fchmod(data_fd_.get(), blob_mode) != 0)
    return fs::sys_error("cannot set the mode of ingest " + quoted(ref_), errno);
  data_fd_.reset();

  const std::string hex(hex_of(actual));
  const std::string target = core_->layout.blob_path(hex);
  // NOREPLACE: two ingests of the same content race here, and exactly one must win; the others
  // learn that the blob exists (AlreadyExists) instead of silently replacing it.
  if (::renameat2(dir_fd_.get(), "data", AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST)
      return already_exists("content: blob " + actual + " already exists");
    if (errno != EINVAL && errno != ENOSYS)
      return fs::sys_error("cannot move ingest " + quoted(ref_) + " to " + target, errno);
    // Filesystems without RENAME_NOREPLACE: link(2) also refuses to replace, atomically.
    if (::linkat(dir_fd_.get(), "data", AT_FDCWD, target.c_str(), 0) != 0) {
      if (errno == EEXIST)
        return already_exists("content: blob " + actual + " already exists");
      return fs::sys_error("cannot link ingest " + quoted(ref_) + " to " + target, errno);
    }
  }
  if (auto st = fs::fsync_dir(core_->layout.blobs); !st)
    return st;

  // Labels after the blob: metadata never becomes durable before the data it describes. A
  // sidecar left by a blob that was removed before a crash is replaced or dropped here.
  std::lock_guard lock(core_->labels_mu);
  Labels kept;
  for (const auto& [k, v] : labels)
    if (!v.empty())
      kept.emplace(k, v);
  Status st = kept.empty() ? remove_sidecar(core_->layout, hex)
                           : write_sidecar(core_->layout, hex,
                                           Sidecar{kept, std::chrono::system_clock::now()});
  if (!st)
    return st.error().wrap("blob " + actual + " was committed but its labels were not");
  return {};
}

} // namespace strata::content
