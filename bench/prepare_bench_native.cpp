// prepare-bench-native: times one prepare of the native snapshotter (linked directly, as its
// tests do, so neither the host nor plugin loading is timed) for bench/prepare_bench.py. Prints
// one JSON object on stdout; nothing here asserts timings.
//
//   prepare-bench-native --root DIR --tree SRC --runs N
//     Commits a snapshot "base" holding a copy of SRC (untimed), then times N rounds of
//     prepare("bench", "base") — the full copy of the parent — each after a syncfs and followed
//     by an untimed remove.

#include "prepare_bench.hpp"

#include "snapshotter.hpp"

#include <strata/fs/tree_copy.hpp>

using namespace strata::bench;

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  if (a.tree.empty())
    die("--tree is required");
  auto s = strata::native::NativeSnapshotter::open(a.root, {});
  check(s, "opening the native snapshotter at " + a.root);
  auto m = (*s)->prepare("base-active", "", {});
  check(m, "prepare base");
  auto copied = strata::fs::copy_tree(a.tree, m->front().source);
  check(copied, "filling base from " + a.tree);
  check((*s)->commit("base", "base-active", {}), "commit base");
  auto ms = time_prepares(**s, a.root, "base", a.runs);
  std::printf("{\"files\":%llu,\"prepare_ms\":%s}\n",
              static_cast<unsigned long long>(copied->files), times_json(ms).c_str());
}
