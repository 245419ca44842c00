#!/usr/bin/env python3
"""Overlay snapshotter benchmark: operation latency by snapshot count, and containerd's benchsuite.

Runs build/bench/snapshot-bench (the overlay snapshotter linked directly, no host) under a
scratch root on a real filesystem, and reports ratios against baselines measured in the same
run, because absolute times here drift:
  latency:    median and p99 of prepare / commit / remove of one fresh snapshot (parent: an
              existing committed one) with 10, 1,000 and 10,000 committed snapshots present,
              vs one bare SQLite WAL commit with synchronous=FULL in the same directory (the
              durability floor of the metastore: one fsync). Aim: <= 2 ms median, flat.
  benchsuite: containerd's core/snapshots/benchsuite workload, 16 layers of 10 files of 1 MiB
              (created, updated in place, removed by layer index) written through real mounts,
              per phase, vs the same writes into one plain directory, each layer followed by a
              syncfs (what unmounting a writable overlay does to its upper filesystem).

The scratch root goes under --parent (default /var/tmp). On tmpfs or overlayfs, where overlay
snapshots do not work or do not measure a disk, an ext4 image is made, loop-mounted there and
removed afterwards. Needs root (mounts).

Usage: bench/snapshot_bench.py [--max-existing N] [--ops M] [--benchsuite-runs R]
                               [--parent DIR] [--build-dir DIR] [--keep]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import UNSUITABLE_FS, build_type, fs_type

COUNTS = (10, 1000, 10000)


def mounts_below(path):
    """Mount points at or below `path`, deepest first (from /proc/self/mountinfo)."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].encode().decode("unicode_escape")
            if mp == path or mp.startswith(path + "/"):
                out.append(mp)
    return sorted(out, key=lambda p: p.count("/"), reverse=True)


def unmount_below(path):
    for mp in mounts_below(path):
        subprocess.run(["umount", "-l", mp], check=False)


def run_tool(cmd):
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return json.loads(p.stdout), elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--max-existing", type=int, default=10000,
                    help="skip snapshot counts above this (10,000 take minutes to create)")
    ap.add_argument("--ops", type=int, default=300, help="timed rounds per snapshot count")
    ap.add_argument("--benchsuite-runs", type=int, default=3, help="benchsuite repetitions")
    ap.add_argument("--parent", default="/var/tmp", help="where the scratch root goes")
    ap.add_argument("--build-dir", default="build", help="meson build directory")
    ap.add_argument("--keep", action="store_true", help="keep the scratch root (still unmounted)")
    args = ap.parse_args()
    tool = os.path.abspath(os.path.join(args.build_dir, "bench", "snapshot-bench"))
    if not os.access(tool, os.X_OK):
        sys.exit(f"{tool} missing: build first (ninja -C {args.build_dir})")
    if os.geteuid() != 0:
        sys.exit("needs root: the benchmark mounts overlays")

    parent = os.path.abspath(args.parent)
    loop_dir = None
    ftype = fs_type(parent)
    if ftype in UNSUITABLE_FS:
        # A RAM-backed or stacked filesystem would measure neither overlay-on-disk nor fsync.
        loop_dir = tempfile.mkdtemp(prefix="strata-snapshot-bench-loop.", dir=parent)
        image = loop_dir + ".img"
        subprocess.run(["truncate", "-s", "4G", image], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", image], check=True)
        subprocess.run(["mount", "-o", "loop", image, loop_dir], check=True)
        parent = loop_dir
        ftype = f"ext4 (loop image, since {args.parent} is {ftype})"
    work = tempfile.mkdtemp(prefix="strata-snapshot-bench.", dir=parent)
    try:
        counts = [n for n in COUNTS if n <= args.max_existing] or [args.max_existing]
        print(f"snapshot benchmark: {args.ops} rounds per count, counts {counts}, "
              f"{args.benchsuite_runs} benchsuite runs")
        print(f"  root {work} ({ftype}); build type {build_type(args.build_dir)}; "
              f"{os.cpu_count()} CPUs, {platform.release()}; load {os.getloadavg()[0]:.1f}")

        lat = []
        for n in counts:
            res, _ = run_tool([tool, "latency", "--root", work + "/latency", "--existing", str(n),
                               "--ops", str(args.ops)])
            lat.append(res)
            print(f"  {n} existing: created {res['created']} in {res['populate_s']:.1f} s "
                  f"({1000 * res['populate_s'] / max(res['created'], 1):.2f} ms per "
                  f"prepare+commit)", flush=True)

        print("\nlatency (ms; ratio = median / median of a bare SQLite WAL commit, same run):")
        print(f"  {'existing':>8} {'op':<8} {'median':>8} {'p99':>8} {'ratio':>7}   "
              f"{'WAL commit':>10} {'dir fsync':>9}")
        for r in lat:
            base = r["baseline_wal_commit"]["median_ms"]
            for op in ("prepare", "commit", "remove"):
                s = r[op]
                print(f"  {r['existing']:>8} {op:<8} {s['median_ms']:8.2f} {s['p99_ms']:8.2f} "
                      f"{s['median_ms'] / base:6.2f}x   {base:10.2f} "
                      f"{r['dir_fsync']['median_ms']:9.2f}")
        print("  aim: median <= 2 ms, flat as the count grows")

        runs = []
        for i in range(args.benchsuite_runs):
            res, _ = run_tool([tool, "benchsuite", "--root", f"{work}/benchsuite-{i}"])
            runs.append(res)
            # Each run's 150 MiB would otherwise fill the disk of a small VM over many runs.
            unmount_below(f"{work}/benchsuite-{i}")
            shutil.rmtree(f"{work}/benchsuite-{i}")
            subprocess.run(["sync"], check=True)

        def med(section, key):
            return statistics.median(r[section][key] for r in runs)

        t = {k: med("total_ms", k) for k in runs[0]["total_ms"]}
        b = {k: med("baseline_total_ms", k) for k in runs[0]["baseline_total_ms"]}
        ops = runs[0]["file_ops"]
        snap_total = t["prepare"] + t["mount_write"] + t["unmount"] + t["commit"]
        plain_total = b["write"] + b["syncfs"]
        final = t["view"] + t["view_mount"] + t["read"] + t["view_unmount"]
        print(f"\nbenchsuite (ms, sum over 16 layers, median of {len(runs)} runs; "
              f"{ops['created']} files created, {ops['updated']} updated, {ops['removed']} "
              f"removed; final view {runs[0]['final']['files']} files, "
              f"{runs[0]['final']['bytes'] >> 20} MiB):")
        rows = [
            ("prepare", t["prepare"], None, None),
            ("mount+write", t["mount_write"], b["write"], "plain write"),
            ("unmount", t["unmount"], b["syncfs"], "plain syncfs"),
            ("commit", t["commit"], None, None),
            ("total per layer loop", snap_total, plain_total, "plain write+syncfs"),
            ("view+mount+read+unmount", final, b["read"], "plain read"),
        ]
        for name, v, base, base_name in rows:
            extra = f"   vs {base_name} {base:8.1f}  = {v / base:5.2f}x" if base else ""
            print(f"  {name:<24} {v:8.1f}{extra}")
        print(f"  final view: view {t['view']:.1f}, mount {t['view_mount']:.1f}, read "
              f"{t['read']:.1f}, unmount {t['view_unmount']:.1f}")
        print(f"\nsummary: latency medians at {counts[-1]} existing: prepare "
              f"{lat[-1]['prepare']['median_ms']:.2f} ms, commit "
              f"{lat[-1]['commit']['median_ms']:.2f} ms, remove "
              f"{lat[-1]['remove']['median_ms']:.2f} ms (WAL commit "
              f"{lat[-1]['baseline_wal_commit']['median_ms']:.2f} ms); benchsuite "
              f"{snap_total / plain_total:.2f}x plain")
    finally:
        unmount_below(work)
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        if loop_dir and args.keep:
            print(f"kept the loop mount {loop_dir} (image {loop_dir}.img)")
        elif loop_dir:
            subprocess.run(["umount", loop_dir], check=False)
            os.rmdir(loop_dir)
            os.unlink(loop_dir + ".img")
    return 0


if __name__ == "__main__":
    sys.exit(main())
