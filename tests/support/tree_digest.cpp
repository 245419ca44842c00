#include "tree_digest.hpp"

#include <strata/digest/sha256.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

namespace strata::testing {

namespace stdfs = std::filesystem;

namespace {

std::string content_digest(const stdfs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return digest::sha256_of(s.str());
}

std::string xattrs_of(const stdfs::path& p, const TreeDigestOptions& opts) {
  char names[65536];
  ssize_t n = ::llistxattr(p.c_str(), names, sizeof names);
  std::map<std::string, std::string> kv;
  for (ssize_t i = 0; i < n;) {
    std::string key(names + i);
    i += static_cast<ssize_t>(key.size()) + 1;
    bool excluded = false;
    for (const auto& prefix : opts.exclude_xattrs)
      excluded = excluded || key.rfind(prefix, 0) == 0;
    if (excluded)
      continue;
    char value[65536];
    ssize_t vn = ::lgetxattr(p.c_str(), key.c_str(), value, sizeof value);
    kv[key] = vn >= 0 ? std::string(value, static_cast<std::size_t>(vn)) : "?";
  }
  std::string out;
  for (const auto& [k, v] : kv)
    out += " xattr:" + k + "=" + digest::sha256_of(v).substr(7, 16);
  return out;
}

} // namespace

Result<std::string> tree_listing(const std::string& root, const TreeDigestOptions& opts) {
  std::error_code ec;
  if (!stdfs::is_directory(root, ec))
    return not_found(root + " is not a directory");
  std::map<std::string, std::string> lines;
  std::map<std::pair<dev_t, ino_t>, std::string> first_path;
  std::vector<std::pair<std::string, struct stat>> entries;
  for (auto it = stdfs::recursive_directory_iterator(root, ec); !ec && it != stdfs::end(it);
       it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0)
      return internal_error("cannot stat " + it->path().string());
    entries.emplace_back(it->path().lexically_relative(root).string(), st);
  }
  if (ec)
    return internal_error("cannot walk " + root + ": " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [rel, st] : entries) {
    const stdfs::path p = stdfs::path(root) / rel;
    if (opts.skip_whiteout_devices && S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0))
      continue;
    std::ostringstream l;
    l << rel << " mode=" << std::oct << st.st_mode << std::dec << " owner=" << st.st_uid << ":"
      << st.st_gid;
    if (S_ISREG(st.st_mode)) {
      l << " size=" << st.st_size << " " << content_digest(p);
      if (st.st_nlink > 1) {
        auto [it, fresh] = first_path.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
        if (!fresh)
          l << " link=" << it->second;
      }
    } else if (S_ISLNK(st.st_mode)) {
      l << " -> " << stdfs::read_symlink(p).string();
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      l << " rdev=" << major(st.st_rdev) << ":" << minor(st.st_rdev);
    }
    if (opts.mtimes && !S_ISDIR(st.st_mode))
      l << " mtime=" << st.st_mtim.tv_sec;
    l << xattrs_of(p, opts);
    lines[rel] = l.str();
  }
  std::string out;
  for (const auto& [k, v] : lines)
    out += v + "\n";
  return out;
}

Result<std::string> tree_digest(const std::string& root, const TreeDigestOptions& opts) {
  auto listing = tree_listing(root, opts);
  if (!listing)
    return std::move(listing).error();
  return digest::sha256_of(*listing);
}

} // namespace strata::testing
