"""Directory creation in apply is linear in the entries (issue 16 item 6), checked by counting
work, not time: each entry in a new directory deep down used to resolve every prefix of its
path from the root with openat2(2) (one call per level, each walking the whole prefix: 43 s for
300 files 1,900 levels deep). Now only a symlink on the way is resolved from the root, so the
openat2 calls stay a small constant per entry, whatever the depth. strace counts them.

usage: linear_dirs_test.py APPLY_LAYER
"""

import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

DEPTH, FILES = 200, 40


def layer():
    buf = io.BytesIO()
    chain = "/".join(["d"] * DEPTH)
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for i in range(FILES):
            info = tarfile.TarInfo(f"{chain}/{i}/f")
            info.size = 1
            t.addfile(info, io.BytesIO(b"x"))
    return buf.getvalue()


def main():
    if shutil.which("strace") is None:
        print("SKIP: strace is not installed (scripts/setup.sh installs it)")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        tar, target, trace = (os.path.join(tmp, n) for n in ("layer.tar", "root", "trace"))
        with open(tar, "wb") as f:
            f.write(layer())
        os.mkdir(target)
        # LeakSanitizer cannot run under ptrace; in a sanitizer build the leak check is left
        # to the other tests, which run the same apply code untraced.
        env = dict(os.environ)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
        proc = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat2", "-o", trace,
                               sys.argv[1], tar, target], capture_output=True, text=True,
                              env=env)
        if proc.returncode != 0:
            print(proc.stderr)
            return 1
        with open(trace, encoding="utf-8", errors="replace") as f:
            calls = sum(1 for line in f if "openat2(" in line)
        limit = FILES * 4
        print(f"{FILES} files in new directories {DEPTH} levels deep: {calls} openat2 calls "
              f"(limit {limit}; resolving every prefix would take about {FILES * DEPTH})")
        ok = all(os.path.isfile(os.path.join(target, *["d"] * DEPTH, str(i), "f"))
                 for i in range(FILES))
        if not ok:
            print("FAIL: files missing from the applied tree")
            return 1
        if calls > limit:
            print("FAIL: directory creation resolves paths again per level (quadratic)")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
