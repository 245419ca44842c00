// LcowDiffer::apply: blob -> [stream processors] -> decompression -> tar, spooled while its
// headers size the image -> ext4 image (layer_image.hpp) -> VHD footer -> <source>/layer.vhd.

#include "differ.hpp"
#include "layer_image.hpp"
#include "vhd_footer.hpp"

#include <strata/archive/tar_reader.hpp>
#include <strata/digest/sha256.hpp>
#include <strata/fs/posix.hpp>
#include <strata/streamproc/layer.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

namespace strata::lcow {

namespace {

std::string describe(const std::vector<Mount>& mounts) {
  std::string out;
  for (const auto& m : mounts)
    out += (out.empty() ? "" : ", ") + m.type + " " + m.source;
  return "[" + out + "]";
}

// Removes the file at `path` unless keep() was called: no partial image outlives an apply.
class RemoveUnlessKept {
public:
  explicit RemoveUnlessKept(std::string path) : path_(std::move(path)) {}
  ~RemoveUnlessKept() {
    if (!path_.empty())
      ::unlink(path_.c_str());
  }
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  RemoveUnlessKept& operator=(const RemoveUnlessKept&) = delete;
  void keep() { path_.clear(); }

private:
  std::string path_;
};

Status write_all(int fd, std::span<const std::byte> data, std::uint64_t offset,
                 const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return fs::sys_error("lcow differ: writing " + what, errno);
    }
    data = data.subspan(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

// The spooled tar, read back from the start.
contentio::Source spool_reader(int fd) {
  return [fd, offset = std::uint64_t(0)](std::span<std::byte> buf) mutable -> Result<std::size_t> {
    for (;;) {
      ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return fs::sys_error("lcow differ: reading the spooled layer", errno);
      offset += static_cast<std::uint64_t>(n);
      return static_cast<std::size_t>(n);
    }
  };
}

Status append_footer(const std::string& path, std::uint64_t disk_bytes) {
  std::array<std::byte, 16> id{};
  if (::getrandom(id.data(), id.size(), 0) != static_cast<ssize_t>(id.size()))
    return fs::sys_error("lcow differ: getrandom for the VHD unique id", errno);
  // VHD time stamps count seconds from 2000-01-01T00:00:00Z.
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto stamp = static_cast<std::uint32_t>(std::max<std::int64_t>(now - 946684800, 0));
  const auto footer = vhd_footer(disk_bytes, stamp, id);
  fs::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd)
    return fs::sys_error("lcow differ: cannot open " + path, errno);
  STRATA_TRY(write_all(fd.get(), footer, disk_bytes, path));
  if (::fsync(fd.get()) != 0)
    return fs::sys_error("lcow differ: fsync of " + path, errno);
  return {};
}

} // namespace

Result<std::string> layer_dir(const std::vector<Mount>& mounts) {
  const bool lcow = std::any_of(mounts.begin(), mounts.end(),
                                [](const Mount& m) { return m.type == lcow_layer_mount; });
  if (!lcow)
    return not_implemented("lcow differ: applies onto one lcow-layer mount only, got " +
                           describe(mounts));
  if (mounts.size() != 1)
    return invalid_argument("lcow differ: the number of mounts must be 1 for an lcow-layer, got " +
                            std::to_string(mounts.size()) + " " + describe(mounts));
  const std::string& dir = mounts.front().source;
  if (dir.empty() || dir.front() != '/')
    return invalid_argument("lcow differ: lcow-layer source \"" + dir +
                            "\" must be an absolute directory path");
  return dir;
}

LcowDiffer::LcowDiffer(std::shared_ptr<ContentStore> store, Config config,
                       std::shared_ptr<Logger> log)
    : store_(std::move(store)), config_(std::move(config)),
      log_(log ? std::move(log) : null_logger()) {}

Status LcowDiffer::check_media_type(const std::string& media_type) const {
  if (archive::compression_of_media_type(media_type))
    return {};
  if (auto st = streamproc::find_accepting(config_.processors, media_type); !st)
    return not_implemented("lcow differ: media type \"" + media_type +
                           "\" is not a layer it can decode and " + st.error().message());
  return {};
}

Result<Descriptor> LcowDiffer::apply(const Descriptor& desc, const std::vector<Mount>& mounts,
                                     const ApplyOptions& opts) {
  // Every NotImplemented decision comes first: the diff service may then try another differ.
  STRATA_TRY_ASSIGN(const std::string dir, layer_dir(mounts));
  if (opts.target != ApplyTarget::Mounts)
    return not_implemented("lcow differ: only applies with target \"mounts\"");
  STRATA_TRY(check_media_type(desc.media_type));
  if (!opts.diff_id.empty())
    if (auto st = digest::validate(opts.diff_id); !st)
      return st.error().wrap("lcow differ: diff_id");
  auto converted = convert(desc, dir, opts);
  if (!converted)
    return std::move(converted).error().wrap("lcow differ: layer " + desc.digest + " into " + dir);
  return converted;
}

Result<Descriptor> LcowDiffer::convert(const Descriptor& desc, const std::string& dir,
                                       const ApplyOptions& opts) {
  streamproc::LayerOptions layer_options;
  layer_options.chain.idle_timeout = config_.processor_timeout;
  layer_options.chain.payloads = opts.processor_payloads;
  layer_options.progress = opts.progress;
  STRATA_TRY_ASSIGN(auto layer, streamproc::open_layer(*store_, desc, config_.processors,
                                                       std::move(layer_options)));
  const contentio::Source& tar = layer.tar();

  // The tar goes to an unnamed file in the layer directory while its headers are counted: the
  // image is sized from them before the second read writes it.
  fs::UniqueFd spool(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!spool)
    return fs::sys_error("cannot make a temporary file in " + dir + " to spool the layer", errno);
  std::uint64_t spooled = 0;
  contentio::Source tee = [&](std::span<std::byte> buf) -> Result<std::size_t> {
    auto n = tar(buf);
    if (n && *n > 0) {
      STRATA_TRY(write_all(spool.get(), std::span(buf).first(*n), spooled, "the spooled layer"));
      spooled += *n;
    }
    return n;
  };
  LayerCensus census({config_.max_file_bytes, config_.max_image_bytes});
  archive::TarReader counting(tee);
  Status counted;
  for (;;) {
    auto e = counting.next();
    if (!e) {
      counted = std::move(e).error();
      break;
    }
    if (!*e)
      break;
    if (counted = census.add(counting, *e); !counted)
      break;
  }
  if (counted)
    counted = counting.drain();
  layer.close();
  STRATA_TRY(counted);
  const std::string digest = counting.digest();
  if (!opts.diff_id.empty() && digest != opts.diff_id)
    return failed_precondition("layer " + desc.digest + " unpacks to " + digest +
                               ", but its diff ID is " + opts.diff_id +
                               "; the image is corrupt or its config lies");

  const std::string final_path = dir + "/" + layer_vhd;
  std::string temp_path = dir + "/." + layer_vhd + ".XXXXXX";
  fs::UniqueFd temp(::mkostemp(temp_path.data(), O_CLOEXEC));
  if (!temp)
    return fs::sys_error("cannot create a temporary image in " + dir, errno);
  RemoveUnlessKept remove_temp(temp_path);
  temp.reset();
  STRATA_TRY_ASSIGN(auto image,
                    Ext4Image::create(temp_path, census.geometry(), config_.max_image_bytes));
  {
    contentio::Source replay = spool_reader(spool.get());
    archive::TarReader writing(replay);
    LayerImageWriter writer(*image);
    for (;;) {
      STRATA_TRY_ASSIGN(archive_entry * e, writing.next());
      if (!e)
        break;
      STRATA_TRY(writer.add(writing, e));
    }
    STRATA_TRY(writer.finish());
  }
  STRATA_TRY_ASSIGN(const std::uint64_t disk_bytes, image->close());
  STRATA_TRY(append_footer(temp_path, disk_bytes));
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0)
    return fs::sys_error("cannot rename " + temp_path + " to " + final_path, errno);
  remove_temp.keep();
  // The rename is durable once the directory is synced (sync_fs or not: a layer.vhd that
  // could vanish after a crash would be a committed layer without its disk).
  fs::UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd || ::fsync(dfd.get()) != 0) {
    const int err = errno;
    ::unlink(final_path.c_str());
    return fs::sys_error("fsync of " + dir + " after writing " + final_path, err);
  }
  return Descriptor{media_type::layer_tar, digest, counting.size(), {}};
}

Result<Descriptor> LcowDiffer::compare(const std::vector<Mount>&, const std::vector<Mount>&,
                                       const CompareOptions&) {
  return not_implemented("lcow differ: does not compare (only apply; containerd's windows-lcow "
                         "differ has no compare either)");
}

} // namespace strata::lcow
