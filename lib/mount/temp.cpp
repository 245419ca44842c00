// TempMount: a mount that lives exactly as long as its scope.
#include "strata/mount/temp.hpp"

#include "strata/mount/mount.hpp"
#include "strata/plugin/try.hpp"
#include "sys_linux.hpp"

#include <cerrno>
#include <iostream>
#include <unistd.h>

namespace strata::mount {

Result<TempMount> TempMount::create(const std::vector<Mount>& mounts, const std::string& parent) {
  STRATA_TRY_ASSIGN(auto dir, detail::make_temp_dir(parent, "strata-mount-"));
  std::vector<Mount> ms = remove_volatile(mounts);
  if (Status st = mount_all(ms, dir); !st) {
    ::rmdir(dir.c_str());
    return st.error().wrap("temporary mount on \"" + dir + "\"");
  }
  return TempMount(std::move(dir), std::move(ms));
}

TempMount::TempMount(TempMount&& other) noexcept
    : path_(std::move(other.path_)), mounts_(std::move(other.mounts_)) {
  other.path_.clear();
}

TempMount& TempMount::operator=(TempMount&& other) noexcept {
  if (this != &other) {
    (void)release();
    path_ = std::move(other.path_);
    mounts_ = std::move(other.mounts_);
    other.path_.clear();
  }
  return *this;
}

TempMount::~TempMount() {
  if (Status st = release(); !st)
    std::cerr << "strata: leaking temporary mount: " << st.error().to_string() << "\n";
}

Status TempMount::release() {
  if (path_.empty())
    return {};
  // Everything stacked on the directory goes, whatever mounts_ says.
  STRATA_TRY(unmount_mounts(mounts_, path_));
  STRATA_TRY(unmount_all(path_));
  if (::rmdir(path_.c_str()) != 0 && errno != ENOENT)
    return detail::mount_error("cannot remove temporary mount directory \"" + path_ + "\"", errno);
  path_.clear();
  mounts_.clear();
  return {};
}

} // namespace strata::mount
