#!/usr/bin/env python3
"""Layer apply benchmark: strata::archive::apply vs `bsdtar -x` of the same layer.

Generates one layer of many small files (regular files of 0-8 KiB in nested directories, plus
some symlinks and hardlinks; PAX tar, also gzip-compressed), then for each variant (tar,
tar.gz) extracts it alternately with
  strata:   build/bench/apply-layer [OPTIONS] LAYER DEST   (apply(), whiteouts removed)
  baseline: bsdtar -xpf LAYER -C DEST
into fresh empty directories on the same filesystem as the layer, with `sync` before every
timed run so that writeback of the previous run does not land in the next one. All are timed
as whole processes (start, read, write, exit). Prints the median seconds of each and the ratio
strata/bsdtar per variant (aim: <= 1.0x), after checking once that each produces the same tree
as bsdtar (names, types, sizes, modes, owners, link targets, hardlink groups, contents, file
mtimes).

The tar.gz variant runs strata once per --gzip-configs entry, the walking differ's settings:
  zlib          gzip_decoder = "zlib", decompress_thread = false (the plain decoder, inline)
  zlib+thread   gzip_decoder = "zlib", decompress_thread = true
  isal          gzip_decoder = "isal", decompress_thread = false
  isal+thread   gzip_decoder = "isal", decompress_thread = true (the default)
and, unless --no-inflate-only, also times decompression alone (apply-layer --inflate-only:
decompressing() drained, nothing written) against `gzip -dc` into /dev/null.

--shape deep instead writes --files files each in its own new directory below a chain of
--depth - 1 directories (issue 16: 300 files 1,900 levels deep took 43 s against bsdtar's 1.6 s
while every new directory re-resolved every prefix from the root; aim: <= 2x bsdtar).

Usage: bench/apply_bench.py [--runs N] [--files N] [--dirs N] [--build-dir DIR]
                            [--shape many|deep] [--depth N]
                            [--gzip-configs zlib,isal+thread] [--no-inflate-only]
"""
import argparse
import gzip
import io
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

from benchlib import build_type, tree_differences, tree_records

MTIME = 1700000000  # fixed, so the layer is the same bytes for the same seed


def make_layer(path, n_files, n_dirs, seed):
    """Writes a PAX tar of n_files entries of 0-8 KiB in n_dirs nested dirs; returns counts.

    Entries come in sorted walk order (each directory, then what is in it), as `tar -c` of a
    tree and image builders write them, so that runs of entries share a parent directory.
    """
    rng = random.Random(seed)
    # Text-like content, so that gzip compresses it about as much as a real layer's files.
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz_") for _ in range(rng.randint(2, 10)))
             for _ in range(2000)]
    pool = " ".join(rng.choice(words) for _ in range(300000)).encode()
    dirs = []
    for i in range(n_dirs):
        # A random earlier dir as parent (or the root) gives a bushy tree a few levels deep.
        parent = rng.choice(dirs) if dirs and rng.random() < 0.85 else ""
        dirs.append(f"{parent}/d{i:03d}".lstrip("/"))
    entries = [(d, "dir") for d in dirs]
    for i in range(n_files):
        r = rng.random()
        kind = "symlink" if r < 0.01 else "hardlink" if r < 0.02 else "file"
        prefix = {"symlink": "l", "hardlink": "h", "file": "f"}[kind]
        entries.append((f"{rng.choice(dirs)}/{prefix}{i:05d}", kind))
    entries.sort(key=lambda e: e[0].split("/"))
    counts = {"dirs": 0, "files": 0, "symlinks": 0, "hardlinks": 0}
    files = []
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name, kind in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = MTIME
            if kind == "dir":
                ti.type, ti.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(ti)
                counts["dirs"] += 1
                continue
            if kind == "symlink" and files:
                ti.type, ti.mode = tarfile.SYMTYPE, 0o777
                ti.linkname = "../" * name.count("/") + rng.choice(files)
                tar.addfile(ti)
                counts["symlinks"] += 1
                continue
            if kind == "hardlink" and files:
                # Links go to files already in the archive, as a tar writer emits them.
                ti.type, ti.mode, ti.linkname = tarfile.LNKTYPE, 0o644, rng.choice(files)
                tar.addfile(ti)
                counts["hardlinks"] += 1
                continue
            size = rng.randint(0, 8192)
            off = rng.randint(0, len(pool) - size)
            ti.size, ti.mtime = size, MTIME + len(files)
            ti.mode = rng.choice([0o644, 0o644, 0o644, 0o755, 0o600, 0o444])
            tar.addfile(ti, io.BytesIO(pool[off:off + size]))
            files.append(name)
            counts["files"] += 1
    return counts


def make_deep_layer(path, n_files, depth):
    """Writes a PAX tar of n_files one-byte files, each in its own new directory at `depth`."""
    chain = "/".join(["d"] * (depth - 1))
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for i in range(n_files):
            info = tarfile.TarInfo(f"{chain}/{i}/f")
            info.size = 1
            info.mtime = MTIME
            tar.addfile(info, io.BytesIO(b"x"))
    return {"files": n_files, "dirs": depth - 1 + n_files, "symlinks": 0, "hardlinks": 0}


def remove_tree(path):
    # rm, not shutil.rmtree: that recurses (and holds an fd) per level, too deep for --shape deep.
    subprocess.run(["rm", "-rf", "--", path], check=False)


def run_timed(cmd, dest):
    os.mkdir(dest)
    subprocess.run(["sync"], check=True)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return elapsed


# --gzip-configs names -> apply-layer options (the walking differ's gzip_decoder and
# decompress_thread).
GZIP_CONFIGS = {
    "zlib": ["--gzip-decoder", "zlib", "--decompress-thread", "off"],
    "zlib+thread": ["--gzip-decoder", "zlib", "--decompress-thread", "on"],
    "isal": ["--gzip-decoder", "isal", "--decompress-thread", "off"],
    "isal+thread": ["--gzip-decoder", "isal", "--decompress-thread", "on"],
}


def time_inflate(cmd, runs):
    """Median and min seconds of `cmd` with stdout to /dev/null, over `runs` runs."""
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise RuntimeError(f"{cmd} failed ({p.returncode}): {p.stderr.decode(errors='replace')}")
    return statistics.median(samples), min(samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5, help="timed runs per tool and variant")
    ap.add_argument("--files", type=int, default=20000, help="entries besides directories")
    ap.add_argument("--dirs", type=int, default=500, help="nested directories")
    ap.add_argument("--shape", choices=("many", "deep"), default="many",
                    help="many small files in a bushy tree, or --files files --depth levels deep")
    ap.add_argument("--depth", type=int, default=1900, help="--shape deep: directory levels")
    ap.add_argument("--seed", type=int, default=1, help="seed of the generated layer")
    ap.add_argument("--build-dir", default="build", help="meson build directory")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--gzip-configs", default="zlib,isal+thread",
                    help="strata settings timed on tar.gz, comma-separated, of: "
                         + ", ".join(GZIP_CONFIGS))
    ap.add_argument("--no-inflate-only", action="store_true",
                    help="skip timing decompression alone")
    args = ap.parse_args()
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * args.depth))  # os.walk recurses
    configs = [c for c in args.gzip_configs.split(",") if c]
    if not configs or any(c not in GZIP_CONFIGS for c in configs):
        sys.exit(f"--gzip-configs: each of {', '.join(GZIP_CONFIGS)}")
    apply_layer = os.path.abspath(os.path.join(args.build_dir, "bench", "apply-layer"))
    bsdtar = shutil.which("bsdtar")
    if not os.access(apply_layer, os.X_OK):
        sys.exit(f"{apply_layer} missing: build first (ninja -C {args.build_dir})")
    if not bsdtar:
        sys.exit("bsdtar not found (apt-get install libarchive-tools)")
    # Under /tmp, so that the layer and every destination share one filesystem.
    work = tempfile.mkdtemp(prefix="strata-apply-bench.", dir="/tmp")
    try:
        tar_path = os.path.join(work, "layer.tar")
        if args.shape == "deep":
            counts = make_deep_layer(tar_path, args.files, args.depth)
        else:
            counts = make_layer(tar_path, args.files, args.dirs, args.seed)
        gz_path = tar_path + ".gz"
        with open(tar_path, "rb") as src, gzip.open(gz_path, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        ver = subprocess.run([bsdtar, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"apply benchmark: {args.runs} runs, layer of {counts['files']} files, "
              f"{counts['dirs']} dirs, {counts['symlinks']} symlinks, "
              f"{counts['hardlinks']} hardlinks")
        print(f"  tar {os.path.getsize(tar_path) / 1e6:.1f} MB, tar.gz "
              f"{os.path.getsize(gz_path) / 1e6:.1f} MB; baseline {ver}; "
              f"build type {build_type(args.build_dir)}; {os.cpu_count()} CPUs, "
              f"{platform.release()}")
        n = 0
        results = []
        for variant, layer in (("tar", tar_path), ("tar.gz", gz_path)):
            tools = {}
            if variant == "tar":
                tools["strata"] = lambda dest, layer=layer: [apply_layer, layer, dest]
            else:
                for c in configs:
                    tools[f"strata {c}"] = (
                        lambda dest, layer=layer, c=c: [apply_layer, *GZIP_CONFIGS[c], layer, dest])
            tools["bsdtar"] = lambda dest, layer=layer: [bsdtar, "-xpf", layer, "-C", dest]
            # Once untimed each, to warm the page cache for the layer and the binaries, and to
            # check that every tree agrees with bsdtar's.
            trees = {}
            for name, cmd in tools.items():
                dest = os.path.join(work, f"check-{len(trees)}")
                run_timed(cmd(dest), dest)
                trees[name] = tree_records([dest], contents=True)
                remove_tree(dest)
            for name in tools:
                if name == "bsdtar":
                    continue
                diffs = [f"  {k}: strata {trees[name].get(k)} vs bsdtar {trees['bsdtar'].get(k)}"
                         for k in tree_differences(trees[name], trees["bsdtar"])]
                if diffs:
                    print(f"{variant}: {name} and bsdtar extract differently ({len(diffs)} paths):")
                    print("\n".join(diffs[:20]))
                    return 1
            samples = {name: [] for name in tools}
            names = list(tools)
            for i in range(args.runs):
                # Rotating which goes first, so none always follows another's writeback.
                order = names[i % len(names):] + names[:i % len(names)]
                for name in order:
                    dest = os.path.join(work, f"dest{n}")
                    n += 1
                    samples[name].append(run_timed(tools[name](dest), dest))
                    remove_tree(dest)
            b = statistics.median(samples["bsdtar"])
            print(f"{variant}: trees identical ({len(trees['bsdtar'])} paths)")
            for name in names:
                m = statistics.median(samples[name])
                print(f"  {name:<20} median {m:7.3f} s   min {min(samples[name]):7.3f} s"
                      + ("" if name == "bsdtar" else f"   ratio to bsdtar {m / b:.2f}x"))
                if name != "bsdtar":
                    results.append((f"{variant} {name.removeprefix('strata').strip()}".strip(),
                                    m, b))
        print("summary (strata/bsdtar, aim <= 1.0x): "
              + ", ".join(f"{v} {s / b:.2f}x ({s:.2f} s vs {b:.2f} s)" for v, s, b in results))
        if not args.no_inflate_only:
            gzip_bin = shutil.which("gzip")
            base = time_inflate([gzip_bin, "-dc", gz_path], args.runs) if gzip_bin else None
            print(f"inflate only ({os.path.getsize(gz_path) / 1e6:.1f} MB tar.gz -> "
                  f"{os.path.getsize(tar_path) / 1e6:.1f} MB, nothing written, {args.runs} runs):")
            if base:
                print(f"  {'gzip -dc':<20} median {base[0]:7.3f} s   min {base[1]:7.3f} s")
            for c in configs:
                m, lo = time_inflate([apply_layer, "--inflate-only", *GZIP_CONFIGS[c], gz_path],
                                     args.runs)
                print(f"  {'strata ' + c:<20} median {m:7.3f} s   min {lo:7.3f} s"
                      + (f"   ratio to gzip -dc {m / base[0]:.2f}x" if base else ""))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            remove_tree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
