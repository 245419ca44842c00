#pragma once
/// \file
/// Short-lived mounts on fresh private directories, taken down however the scope is left.

#include <strata/mount/options.hpp>
#include <strata/plugin/error.hpp>
#include <strata/plugin/mount.hpp>

#include <string>
#include <utility>
#include <vector>

namespace strata::mount {

/// Mounts a vector<Mount> on a new directory (mode 0700, random name) and, on release() or
/// destruction, unmounts everything and removes the directory. The directory is removed with
/// rmdir only, never recursively, so data can never be deleted through a mount that failed to
/// go away.
class TempMount {
public:
  /// Mounts `mounts` (with volatile overlay options removed, see remove_volatile) on a new
  /// directory under `parent` ("" means /tmp). Nothing is left behind on failure.
  /// Errors: those of mount_all, or of creating the directory (by errno, naming it).
  static Result<TempMount> create(const std::vector<Mount>& mounts, const std::string& parent = "");

  TempMount(TempMount&& other) noexcept;
  TempMount& operator=(TempMount&& other) noexcept;
  TempMount(const TempMount&) = delete;
  TempMount& operator=(const TempMount&) = delete;
  /// Best-effort release(); a failure is written to stderr since it cannot be returned.
  ~TempMount();

  /// The mounted directory; empty after release().
  const std::string& path() const noexcept { return path_; }

  /// Unmounts (retrying busy mounts, see unmount) and removes the directory. Idempotent.
  /// Errors: those of unmount; InvalidArgument/… by errno when rmdir fails (e.g. still mounted).
  Status release();

private:
  TempMount(std::string path, std::vector<Mount> mounts)
      : path_(std::move(path)), mounts_(std::move(mounts)) {}
  std::string path_;
  std::vector<Mount> mounts_;
};

/// Mounts `mounts` on a temporary directory, calls fn(path) and always unmounts and removes it
/// again, also when fn throws (the exception then propagates). `fn` returns Status.
/// Errors: the mount error; else fn's error; else the release error.
template <class Fn>
Status with_temp_mount(const std::vector<Mount>& mounts, Fn&& fn, const std::string& parent = "") {
  auto tm = TempMount::create(mounts, parent);
  if (!tm)
    return std::move(tm).error();
  Status st = std::forward<Fn>(fn)(tm->path());
  Status rel = tm->release();
  if (!st)
    return st;
  return rel;
}

/// with_temp_mount on readonly(mounts): look at a snapshot without being able to change it.
template <class Fn>
Status with_readonly_temp_mount(const std::vector<Mount>& mounts, Fn&& fn,
                                const std::string& parent = "") {
  return with_temp_mount(readonly(mounts), std::forward<Fn>(fn), parent);
}

} // namespace strata::mount
