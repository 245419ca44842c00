// prepare-bench-blockfile: times one prepare of the blockfile snapshotter (linked directly) for
// bench/prepare_bench.py. Prints one JSON object on stdout; nothing here asserts timings.
//
//   prepare-bench-blockfile --root DIR --size BYTES --fs-type ext4|xfs --runs N
//     Opens the snapshotter and makes its scratch image of --size with mkfs (untimed; the
//     scratch's path is printed as "scratch"), then times N rounds of prepare("bench", "") — the
//     copy of the scratch image — each after a syncfs and followed by an untimed remove.

#include "prepare_bench.hpp"

#include "config.hpp"
#include "mkfs.hpp"
#include "scratch.hpp"
#include "snapshotter.hpp"

using namespace strata::bench;

int main(int argc, char** argv) {
  Args a = parse(argc, argv);
  strata::blockfile::Config config;
  auto size = strata::blockfile::parse_size(a.size);
  check(size, "--size");
  config.size = *size;
  if (a.fs_type == "xfs")
    config.fs_type = strata::blockfile::FsType::Xfs;
  else if (a.fs_type != "ext4")
    die("--fs-type must be ext4 or xfs");
  auto s = strata::blockfile::BlockfileSnapshotter::open(a.root, config);
  check(s, "opening the blockfile snapshotter at " + a.root);
  auto skip = strata::blockfile::ensure_scratch(
      a.root, config, strata::blockfile::ScratchSetup{strata::blockfile::default_mkfs_dirs()});
  check(skip, "making the scratch image");
  if (*skip)
    die("no scratch: " + **skip);
  auto ms = time_prepares(**s, a.root, "", a.runs);
  std::printf("{\"scratch\":\"%s\",\"prepare_ms\":%s}\n",
              strata::blockfile::scratch_path(a.root).c_str(), times_json(ms).c_str());
}
