#!/usr/bin/env python3
"""bench/unpack.py at 16 MB, one untimed run of every tool, for meson's `bench` suite.

Usage: unpack_smoke.py UNPACK_PY BUILD_DIR SCRATCH_DIR. Exits 77 (skip) when not root, else
with unpack.py's status: 1 when any tool's tree differs from bsdtar's.
"""
import os
import subprocess
import sys


def main():
    unpack, build, scratch = sys.argv[1:4]
    if os.geteuid() != 0:
        print("skip: needs root (owners, overlay mounts)")
        return 77
    os.makedirs(scratch, exist_ok=True)
    return subprocess.run([sys.executable, unpack, "--size-mb", "16", "--runs", "1",
                           "--no-drop-caches", "--build-dir", build,
                           "--cache-dir", os.path.join(scratch, "unpack-cache-16"),
                           "--work-dir", scratch]).returncode


if __name__ == "__main__":
    sys.exit(main())
