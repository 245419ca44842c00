#include "scratch.hpp"

#include "image.hpp"
#include "mkfs.hpp"

#include <strata/fs/posix.hpp>
#include <strata/mount/temp.hpp>
#include <strata/plugin/try.hpp>

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::blockfile {
namespace {

constexpr const char* kName = "blockfile snapshotter";
constexpr const char* kSection = "[plugins.\"strata.snapshotter.v1.blockfile\"]";

std::string type_name(const std::optional<FsType>& t) {
  return t ? std::string(to_string(*t)) : std::string("neither ext4 nor xfs");
}

// The fix for a scratch that does not fit the config, the same in every such message.
std::string fixes(const std::string& scratch) {
  return "set recreate_scratch = true in " + std::string(kSection) +
         " to make it again (existing snapshots keep their images), or remove " + scratch;
}

Status check_type(const std::string& image, FsType want, const std::string& what) {
  STRATA_TRY_ASSIGN(auto have, read_fs_type(image));
  if (have != want)
    return failed_precondition(std::string(kName) + ": " + what + " " + image + " holds " +
                               type_name(have) + ", but fs_type = \"" +
                               std::string(to_string(want)) + "\"");
  return {};
}

// A fresh filesystem's root holds ext4's lost+found; a snapshot must start as an empty tree.
Status empty_root(const std::string& image, const Config& config) {
  return mount::with_temp_mount({image_mount(image, config.fs_type, config.mount_options, true)},
                                [&](const std::string& dir) -> Status {
                                  std::string lf = dir + "/lost+found";
                                  if (::rmdir(lf.c_str()) != 0 && errno != ENOENT)
                                    return fs::sys_error(
                                        "cannot remove " + lf + " of the new scratch", errno);
                                  return {};
                                });
}

Status generate(const std::string& mkfs, const std::string& image, const Config& config) {
  {
    fs::UniqueFd fd(::open(image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd)
      return fs::sys_error("cannot create " + image, errno);
    if (::ftruncate(fd.get(), config.size) != 0)
      return fs::sys_error("cannot size " + image + " to " + std::to_string(config.size) + " bytes",
                           errno);
  }
  STRATA_TRY(run_mkfs(mkfs, config.fs_type, image));
  return empty_root(image, config);
}

} // namespace

std::string scratch_path(const std::string& root) {
  return root + "/scratch";
}

Result<std::optional<std::string>> ensure_scratch(const std::string& root, const Config& config,
                                                  const ScratchSetup& setup) {
  const std::string scratch = scratch_path(root);
  struct stat st {};
  bool exists = ::stat(scratch.c_str(), &st) == 0;
  if (!exists && errno != ENOENT)
    return fs::sys_error(std::string(kName) + ": cannot stat " + scratch, errno);

  if (exists && !config.recreate_scratch) {
    STRATA_TRY_ASSIGN(auto have, read_fs_type(scratch));
    std::int64_t want_size = config.size;
    std::string size_key = "size = " + std::to_string(config.size) + " bytes";
    if (!config.scratch_file.empty()) {
      struct stat sf {};
      // A scratch_file removed after it was copied is no reason to stop: the copy stays valid.
      want_size = ::stat(config.scratch_file.c_str(), &sf) == 0 ? sf.st_size : st.st_size;
      size_key =
          "scratch_file " + config.scratch_file + " of " + std::to_string(want_size) + " bytes";
    }
    if (have != config.fs_type || st.st_size != want_size)
      return failed_precondition(
          std::string(kName) + ": the scratch image " + scratch + " is " + type_name(have) +
          " of " + std::to_string(st.st_size) + " bytes, but the config asks for fs_type = \"" +
          std::string(to_string(config.fs_type)) + "\" and " + size_key + ": " + fixes(scratch));
    return std::optional<std::string>();
  }

  std::string mkfs;
  if (config.scratch_file.empty()) {
    mkfs = find_mkfs(config.fs_type, setup.mkfs_dirs);
    if (mkfs.empty()) {
      std::string where;
      for (const std::string& d : setup.mkfs_dirs)
        where += (where.empty() ? "" : " or ") + d;
      return std::optional<std::string>(
          "no scratch image to make snapshots from: " + scratch +
          (exists ? " is to be recreated" : " does not exist") + ", scratch_file is not set and " +
          "there is no mkfs." + std::string(to_string(config.fs_type)) + " in " + where +
          " (install " + (config.fs_type == FsType::Xfs ? "xfsprogs" : "e2fsprogs") +
          ", or set scratch_file)");
    }
  } else {
    STRATA_TRY(check_type(config.scratch_file, config.fs_type, "scratch_file"));
  }

  // Built aside and renamed over the scratch, so a crash leaves the old one or none.
  const std::string tmp = root + "/scratch.new";
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT)
    return fs::sys_error(std::string(kName) + ": cannot remove the leftover " + tmp, errno);
  Status made = mkfs.empty() ? copy_image(config.scratch_file, tmp) : generate(mkfs, tmp, config);
  if (made) {
    fs::UniqueFd fd(::open(tmp.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd || ::fsync(fd.get()) != 0)
      made = fs::sys_error("cannot fsync " + tmp, errno);
  }
  if (made && ::rename(tmp.c_str(), scratch.c_str()) != 0)
    made = fs::sys_error("cannot rename " + tmp + " to " + scratch, errno);
  if (made)
    made = fs::fsync_dir(root);
  if (!made) {
    ::unlink(tmp.c_str());
    return made.error().wrap(std::string(kName) + ": making the scratch image " + scratch);
  }
  return std::optional<std::string>();
}

} // namespace strata::blockfile
