#include "support.hpp"

#include "conformance.hpp"
#include "tree_digest.hpp"

#include <strata/fs/root.hpp>
#include <strata/mount/mount.hpp>
#include <strata/mount/options.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

namespace strata::conformance {
namespace {

Error sys(const std::string& what, int err) {
  return Error(Code::Internal, what + ": " + std::strerror(err));
}

std::string join(const std::string& root, const std::string& rel) {
  return rel.starts_with("/") ? root + rel : root + "/" + rel;
}

Status mkdir_p(const std::string& path, mode_t mode) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0)
    return S_ISDIR(st.st_mode) ? Status() : sys("mkdir " + path, EEXIST);
  const auto parent = std::filesystem::path(path).parent_path().string();
  if (parent != path && !parent.empty())
    if (Status s = mkdir_p(parent, mode); !s)
      return s;
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST)
    return sys("mkdir " + path, errno);
  // The mode must not depend on the runner's umask.
  if (::chmod(path.c_str(), mode) != 0)
    return sys("chmod " + path, errno);
  return {};
}

// Copies `from` to `to` keeping type, mode, owner and content (regular files, directories and
// symlinks: what the cases create).
Status copy_tree(const std::string& from, const std::string& to) {
  struct stat st {};
  if (::lstat(from.c_str(), &st) != 0)
    return sys("lstat " + from, errno);
  if (S_ISDIR(st.st_mode)) {
    if (::mkdir(to.c_str(), st.st_mode & 07777) != 0)
      return sys("mkdir " + to, errno);
    for (const auto& e : std::filesystem::directory_iterator(from))
      if (Status s = copy_tree(e.path().string(), to + "/" + e.path().filename().string()); !s)
        return s;
  } else if (S_ISLNK(st.st_mode)) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(from, ec);
    if (ec || ::symlink(target.c_str(), to.c_str()) != 0)
      return sys("symlink " + to, ec ? ec.value() : errno);
  } else if (S_ISREG(st.st_mode)) {
    std::error_code ec;
    if (!std::filesystem::copy_file(from, to, ec))
      return sys("copy " + from, ec.value());
  } else {
    return Error(Code::InvalidArgument, "copy_tree: unsupported file type at " + from);
  }
  if (::lchown(to.c_str(), st.st_uid, st.st_gid) != 0)
    return sys("lchown " + to, errno);
  if (!S_ISLNK(st.st_mode) && ::chmod(to.c_str(), st.st_mode & 07777) != 0)
    return sys("chmod " + to, errno);
  return {};
}

} // namespace

Applier create_file(const std::string& path, const std::string& content, mode_t mode) {
  return [=](const std::string& root) -> Status {
    const std::string p = join(root, path);
    int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
      return sys("open " + p, errno);
    std::size_t done = 0;
    while (done < content.size()) {
      ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0) {
        int e = errno;
        ::close(fd);
        return sys("write " + p, e);
      }
      done += static_cast<std::size_t>(n);
    }
    // fchmod, not the open mode: the mode must not depend on the umask, and an existing file
    // keeps its old mode through O_TRUNC.
    if (::fchmod(fd, mode) != 0) {
      int e = errno;
      ::close(fd);
      return sys("fchmod " + p, e);
    }
    if (::close(fd) != 0)
      return sys("close " + p, errno);
    return {};
  };
}

Applier create_dir(const std::string& path, mode_t mode) {
  return [=](const std::string& root) { return mkdir_p(join(root, path), mode); };
}

Applier remove_all(const std::string& path) {
  return [=](const std::string& root) -> Status {
    std::error_code ec;
    std::filesystem::remove_all(join(root, path), ec);
    if (ec)
      return sys("remove_all " + join(root, path), ec.value());
    return {};
  };
}

Applier chown(const std::string& path, uid_t uid, gid_t gid) {
  return [=](const std::string& root) -> Status {
    if (::lchown(join(root, path).c_str(), uid, gid) != 0)
      return sys("lchown " + join(root, path), errno);
    return {};
  };
}

Applier chmod(const std::string& path, mode_t mode) {
  return [=](const std::string& root) -> Status {
    if (::chmod(join(root, path).c_str(), mode) != 0)
      return sys("chmod " + join(root, path), errno);
    return {};
  };
}

Applier link(const std::string& target, const std::string& path) {
  return [=](const std::string& root) -> Status {
    if (::link(join(root, target).c_str(), join(root, path).c_str()) != 0)
      return sys("link " + join(root, path), errno);
    return {};
  };
}

Applier symlink(const std::string& target, const std::string& path) {
  return [=](const std::string& root) -> Status {
    if (::symlink(target.c_str(), join(root, path).c_str()) != 0)
      return sys("symlink " + join(root, path), errno);
    return {};
  };
}

Applier rename(const std::string& from, const std::string& to) {
  return [=](const std::string& root) -> Status {
    const std::string f = join(root, from), t = join(root, to);
    if (::rename(f.c_str(), t.c_str()) == 0)
      return {};
    if (errno != EXDEV)
      return sys("rename " + f + " to " + t, errno);
    if (Status s = copy_tree(f, t); !s)
      return s;
    return remove_all(from)(root);
  };
}

Applier apply(std::vector<Applier> appliers) {
  return [appliers = std::move(appliers)](const std::string& root) -> Status {
    for (const auto& a : appliers)
      if (Status s = a(root); !s)
        return s;
    return {};
  };
}

// Without "volatile": after a volatile overlay is unmounted, overlay refuses the same upper/work
// pair again, and the cases mount one snapshot several times. strata's own short-lived mounts
// (mount::TempMount) drop it for the same reason; what the snapshotter returned is otherwise
// mounted as it is.
Mounted::Mounted(const std::vector<Mount>& mounts, const std::string& target)
    : mounts_(mount::remove_volatile(mounts)), target_(target) {
  std::error_code ec;
  std::filesystem::create_directories(target_, ec);
  if (ec) {
    error_ = "create " + target_ + ": " + ec.message();
    return;
  }
  if (mounts_.empty()) {
    error_ = "no mounts to mount";
    return;
  }
  if (Status st = mount::mount_all(mounts_, target_); !st)
    error_ = st.error().to_string();
  else
    mounted_ = true;
}

Mounted::~Mounted() {
  release();
}

void Mounted::release() {
  if (!mounted_)
    return;
  mounted_ = false;
  if (Status st = mount::unmount_mounts(mounts_, target_); !st)
    ADD_FAILURE() << "unmount " << target_ << ": " << st.error().to_string();
}

std::string scratch_parent() {
  const char* env = std::getenv("STRATA_CONFORMANCE_TMPDIR");
  return env != nullptr && *env != '\0' ? env : "/var/tmp";
}

Scratch::Scratch() {
  std::string tmpl = scratch_parent() + "/strata-conformance-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    error_ = "mkdtemp " + tmpl + ": " + std::strerror(errno);
    return;
  }
  path_ = tmpl;
}

Scratch::~Scratch() {
  if (path_.empty())
    return;
  // Mounts first: removing through a mount that is still there would delete snapshot data.
  unmount_below(path_);
  if (Status st = fs::remove_all_at(AT_FDCWD, path_, path_); !st)
    std::fprintf(stderr, "conformance: cannot remove %s: %s\n", path_.c_str(),
                 st.error().to_string().c_str());
}

::testing::AssertionResult trees_equal(const std::string& want, const std::string& got) {
  testing::TreeDigestOptions opts;
  // The prefix "" matches every xattr name: xattrs are not part of the comparison.
  opts.exclude_xattrs = {""};
  auto w = testing::tree_listing(want, opts);
  auto g = testing::tree_listing(got, opts);
  if (!w)
    return ::testing::AssertionFailure() << "listing " << want << ": " << w.error().to_string();
  if (!g)
    return ::testing::AssertionFailure() << "listing " << got << ": " << g.error().to_string();
  // tree_listing leaves the root out; its mode and owner count too.
  auto root_line = [](const std::string& dir) {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
      return std::string("<stat failed: ") + std::strerror(errno) + ">";
    std::ostringstream os;
    os << ". mode=" << std::oct << st.st_mode << std::dec << " owner=" << st.st_uid << ":"
       << st.st_gid << "\n";
    return os.str();
  };
  const std::string wl = root_line(want) + *w, gl = root_line(got) + *g;
  if (wl == gl)
    return ::testing::AssertionSuccess();
  auto lines = [](const std::string& s) {
    std::set<std::string> out;
    std::istringstream in(s);
    for (std::string l; std::getline(in, l);)
      out.insert(l);
    return out;
  };
  const auto a = lines(wl), b = lines(gl);
  auto r = ::testing::AssertionFailure() << "trees differ (want " << want << ", got " << got << ")";
  for (const auto& l : a)
    if (!b.count(l))
      r << "\n  only in want: " << l;
  for (const auto& l : b)
    if (!a.count(l))
      r << "\n  only in got:  " << l;
  return r;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

} // namespace strata::conformance
