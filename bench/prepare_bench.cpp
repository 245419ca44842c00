// prepare-bench: times one prepare of the native or blockfile snapshotter (linked directly, as
// their tests do, so neither the host nor plugin loading is timed) for bench/prepare_bench.py.
// Prints one JSON object on stdout; nothing here asserts timings.
//
//   native --root DIR --tree SRC --runs N
//     Commits a snapshot "base" holding a copy of SRC (untimed), then times N rounds of
//     prepare("child", "base") — the full copy of the parent — each followed by an untimed
//     syncfs and remove.
//   blockfile --root DIR --size BYTES --fs-type ext4|xfs --runs N
//     Opens the blockfile snapshotter (which makes a scratch image of BYTES at first open,
//     untimed), then times N rounds of prepare("a", "") — the copy of the scratch image — each
//     followed by an untimed syncfs and remove.

#include "init.hpp"
#include "snapshotter.hpp"

#include <strata/fs/posix.hpp>
#include <strata/fs/tree_copy.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "prepare-bench: %s\n", msg.c_str());
  std::exit(1);
}

template <class R> void check(const R& r, const std::string& what) {
  if (!r.ok())
    die(what + ": " + r.error().to_string());
}

// Flushes what the last round wrote, so that one round's writeback is not timed in the next.
void sync_fs(const std::string& path) {
  strata::fs::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd || ::syncfs(fd.get()) != 0)
    die("syncfs " + path + ": " + std::strerror(errno));
}

std::string times_json(const std::vector<double>& ms) {
  std::string out = "[";
  for (std::size_t i = 0; i < ms.size(); ++i)
    out += (i ? "," : "") + std::to_string(ms[i]);
  return out + "]";
}

// Times `runs` rounds of prepare(key, parent) then remove(key) on `s`.
template <class S>
std::vector<double> time_prepares(S& s, const std::string& root, const std::string& parent,
                                  int runs) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    sync_fs(root);
    auto t0 = Clock::now();
    auto m = s.prepare("bench", parent, {});
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    check(m, "prepare");
    check(s.remove("bench"), "remove");
  }
  return ms;
}

struct Args {
  std::string mode, root, tree, fs_type = "ext4";
  std::string size = "1GiB";
  int runs = 5;
};

Args parse(int argc, char** argv) {
  if (argc < 2)
    die("usage: prepare-bench native|blockfile --root DIR [--tree SRC] [--size S] "
        "[--fs-type T] [--runs N]");
  Args a;
  a.mode = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--root")
      a.root = v;
    else if (k == "--tree")
      a.tree = v;
    else if (k == "--size")
      a.size = v;
    else if (k == "--fs-type")
      a.fs_type = v;
    else if (k == "--runs")
      a.runs = std::atoi(v.c_str());
    else
      die("unknown option " + k);
  }
  if (a.root.empty())
    die("--root is required");
  return a;
}

int run_native(const Args& a) {
  if (a.tree.empty())
    die("native needs --tree");
  auto s = strata::native::NativeSnapshotter::open(a.root, {});
  check(s, "opening the native snapshotter at " + a.root);
  auto m = (*s)->prepare("base-active", "", {});
  check(m, "prepare base");
  auto copied = strata::fs::copy_tree(a.tree, m->front().source);
  check(copied, "filling base from " + a.tree);
  check((*s)->commit("base", "base-active", {}), "commit base");
  auto ms = time_prepares(**s, a.root, "base", a.runs);
  std::printf("{\"mode\":\"native\",\"files\":%llu,\"prepare_ms\":%s}\n",
              static_cast<unsigned long long>(copied->files), times_json(ms).c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  if (a.mode == "native")
    return run_native(a);
  die("unknown mode " + a.mode + " (native, blockfile)");
}
