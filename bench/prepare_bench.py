#!/usr/bin/env python3
"""Native and blockfile prepare vs cp(1): what one prepare (the copy of a parent) costs.

Makes its own filesystems, each a sparse image on a loop device under --parent: ext4 (no shared
extents: copies are real copies) and xfs with reflink=1 (copies share extents). On each:
  native:    a ~30,000-file tree (--files; 0-8 KiB files in nested directories, 1% symlinks,
             1% hardlinks) committed as a native snapshot; times prepare of a child on it (the
             full copy) vs `cp -a` of the same tree on the same filesystem.
             Aims: ext4 <= 1.1x cp -a; reflink xfs >= 5x faster than cp -a.
  blockfile: a 1 GiB scratch image (mkfs by the plugin); times prepare of a parentless
             snapshot (the copy of the scratch) vs `cp --sparse=always` of the same file.
             Aims: ext4 <= 1.0x; reflink xfs >= 20x faster. A prepare fsyncs the copy and
             commits the metadata (SQLite, fsync); cp does neither, so cp + `sync FILE` is
             timed as well.
Every timed run starts after a syncfs of the filesystem and the copy is removed after it.
build/bench/prepare-bench-{native,blockfile} link the snapshotters directly (no host, no plugin
loading). coreutils >= 9 cp reflinks by default where it can, so cp is also timed with
--reflink=never. Reports medians and ratios; never asserts.

Usage: sudo bench/prepare_bench.py [--runs N] [--files N] [--parent DIR] [--build-dir DIR]
                                   [--only native|blockfile]
"""
import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import build_type

FILESYSTEMS = [
    ("ext4", ["mkfs.ext4", "-q", "-F"]),
    ("xfs reflink", ["mkfs.xfs", "-q", "-f", "-m", "reflink=1"]),
]


def make_tree(root, files, seed=1):
    """`files` files of 0-8 KiB in nested directories, 1% symlinks and 1% hardlinks."""
    rng = random.Random(seed)
    dirs = [root]
    made = []
    for i in range(files):
        if i % 30 == 0:
            d = os.path.join(rng.choice(dirs), f"d{i}")
            os.mkdir(d)
            dirs.append(d)
        d = dirs[-1] if rng.random() < 0.7 else rng.choice(dirs)
        p = os.path.join(d, f"f{i}")
        r = rng.random()
        if r < 0.01 and made:
            os.symlink(os.path.relpath(rng.choice(made), d), p)
        elif r < 0.02 and made:
            os.link(rng.choice(made), p)
        else:
            with open(p, "wb") as f:
                f.write(rng.randbytes(rng.randint(0, 8192)))
            made.append(p)


def sync_fs(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.syncfs(fd) if hasattr(os, "syncfs") else subprocess.run(["sync", "-f", path])
    finally:
        os.close(fd)


def time_cp(argv, dst, fs_root, runs, fsync=False):
    """Median-ready times (ms) of `argv` + [dst]; with `fsync`, `sync dst` is timed too (a
    prepare fsyncs its copy before it returns)."""
    out = []
    for _ in range(runs):
        sync_fs(fs_root)
        t0 = time.perf_counter()
        subprocess.run(argv + [dst], check=True)
        if fsync:
            subprocess.run(["sync", dst], check=True)
        out.append((time.perf_counter() - t0) * 1000)
        if os.path.isdir(dst) and not os.path.islink(dst):
            shutil.rmtree(dst)
        else:
            os.unlink(dst)
    return out


def bench_tool(tool, root, runs, *extra):
    p = subprocess.run([tool, "--root", root, "--runs", str(runs), *extra],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{os.path.basename(tool)} failed: {p.stderr.strip()}")
    return json.loads(p.stdout)


class LoopFs:
    """A sparse image of `size` made with `mkfs` and mounted on a loop device at `path`."""

    def __init__(self, parent, name, mkfs, size="8G"):
        self.path = tempfile.mkdtemp(prefix=f"strata-prepare-bench-{name}.", dir=parent)
        self.image = self.path + ".img"
        subprocess.run(["truncate", "-s", size, self.image], check=True)
        subprocess.run(mkfs + [self.image], check=True)
        subprocess.run(["mount", "-o", "loop", self.image, self.path], check=True)

    def close(self):
        subprocess.run(["umount", self.path], check=False)
        os.rmdir(self.path)
        os.unlink(self.image)


def ratio_line(name, ours, theirs, aim):
    m, b = statistics.median(ours), statistics.median(theirs)
    print(f"  {name:<32} {m:9.1f} ms  {b:9.1f} ms  {m / b:6.2f}x  ({b / m:5.1f}x faster)  aim: {aim}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per side")
    ap.add_argument("--files", type=int, default=30000, help="files in the native parent")
    ap.add_argument("--parent", default="/var/tmp", help="where the loop images go")
    ap.add_argument("--build-dir", default="build", help="meson build directory")
    ap.add_argument("--only", choices=["native", "blockfile"], help="run one snapshotter only")
    args = ap.parse_args()
    tools = {}
    for name in ("native", "blockfile"):
        tools[name] = os.path.abspath(os.path.join(args.build_dir, "bench", "prepare-bench-" + name))
        if not os.access(tools[name], os.X_OK):
            sys.exit(f"{tools[name]} missing: build first (ninja -C {args.build_dir})")
    if os.geteuid() != 0:
        sys.exit("needs root: loop devices and mounts")
    print(f"prepare benchmark: {args.runs} runs per side, {args.files} files; build type "
          f"{build_type(args.build_dir)}; {os.cpu_count()} CPUs, {platform.release()}; "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"  {'':<32} {'strata':>12} {'cp':>12} {'ratio':>7}")
    for fs_name, mkfs in FILESYSTEMS:
        fs = LoopFs(os.path.abspath(args.parent), fs_name.split()[0], mkfs)
        try:
            if args.only in (None, "native"):
                tree = os.path.join(fs.path, "tree")
                os.mkdir(tree)
                make_tree(tree, args.files)
                res = bench_tool(tools["native"], os.path.join(fs.path, "native"), args.runs,
                                 "--tree", tree)
                dst = os.path.join(fs.path, "cp-copy")
                cp = time_cp(["cp", "-a", tree], dst, fs.path, args.runs)
                aim = "<= 1.1x" if fs_name == "ext4" else ">= 5x faster"
                ratio_line(f"native prepare, {fs_name}", res["prepare_ms"], cp, aim + " vs cp -a")
                cp_never = time_cp(["cp", "-a", "--reflink=never", tree], dst, fs.path, args.runs)
                ratio_line("  vs cp -a --reflink=never", res["prepare_ms"], cp_never, aim)
                shutil.rmtree(tree)
            if args.only in (None, "blockfile"):
                res = bench_tool(tools["blockfile"], os.path.join(fs.path, "blockfile"),
                                 args.runs, "--size", "1GiB", "--fs-type", "ext4")
                dst = os.path.join(fs.path, "cp-scratch")
                cp = time_cp(["cp", "--sparse=always", res["scratch"]], dst, fs.path, args.runs)
                aim = "<= 1.0x" if fs_name == "ext4" else ">= 20x faster"
                ratio_line(f"blockfile prepare, {fs_name}", res["prepare_ms"], cp,
                           aim + " vs cp --sparse=always")
                cp_never = time_cp(["cp", "--sparse=always", "--reflink=never", res["scratch"]],
                                   dst, fs.path, args.runs)
                ratio_line("  vs cp ... --reflink=never", res["prepare_ms"], cp_never, aim)
                cp_sync = time_cp(["cp", "--sparse=always", res["scratch"]], dst, fs.path,
                                  args.runs, fsync=True)
                ratio_line("  vs cp --sparse=always + fsync", res["prepare_ms"], cp_sync, aim)
        finally:
            fs.close()


if __name__ == "__main__":
    main()
