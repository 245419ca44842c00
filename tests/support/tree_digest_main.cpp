// tree-digest [--mtime] [--dir-mtime] [--list] [--skip-whiteouts] [--exclude-xattr PREFIX]... DIR
// Prints the tree digest of DIR (or its canonical listing with --list), for Python tests.
// Exit status: 0 printed, 1 the tree could not be read, 2 usage error.
#include "tree_digest.hpp"

#include <cstdio>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  strata::testing::TreeDigestOptions opts;
  bool list = false;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mtime")
      opts.mtimes = true;
    else if (a == "--dir-mtime")
      opts.dir_mtimes = true;
    else if (a == "--list")
      list = true;
    else if (a == "--skip-whiteouts")
      opts.skip_whiteout_devices = true;
    else if (a == "--exclude-xattr" && i + 1 < argc)
      opts.exclude_xattrs.emplace_back(argv[++i]);
    else if (!a.empty() && a[0] != '-' && dir.empty())
      dir = a;
    else {
      std::fprintf(stderr, "usage: tree-digest [--mtime] [--dir-mtime] [--list] [--skip-whiteouts] "
                           "[--exclude-xattr PREFIX]... DIR\n");
      return 2;
    }
  }
  if (dir.empty()) {
    std::fprintf(stderr, "tree-digest: a directory is required\n");
    return 2;
  }
  auto r =
      list ? strata::testing::tree_listing(dir, opts) : strata::testing::tree_digest(dir, opts);
  if (!r) {
    std::fprintf(stderr, "tree-digest: %s\n", r.error().to_string().c_str());
    return 1;
  }
  std::printf("%s%s", r->c_str(), list ? "" : "\n");
  return 0;
}
