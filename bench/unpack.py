#!/usr/bin/env python3
"""Image unpack benchmark: `strata image unpack` vs bsdtar, GNU tar and umoci on the same image.

Builds (once, cached) an OCI image layout of three gzip layers cut from this machine's own
trees, about --size-mb of uncompressed tar in all:
  layer 1: /usr/lib              (40% of the budget)
  layer 2: /usr/share            (45%, plus what layer 1 left unused)
  layer 3: /etc, then /usr/bin   (15%, plus what is left)
Each tree is walked in byte order of names, directories before their contents, as `tar -c`
writes them; a layer stops at the first entry that would exceed its budget. Regular files,
directories, symlinks and hardlinks (within a layer) are kept with their modes, owners, whole-
second mtimes and xattrs; sockets, FIFOs, devices, unreadable files and files not readable by
others (keys, /etc/shadow: the cache is a plain directory) are skipped. PAX tar, `gzip -6 -n`.
The layout is cached under /var/tmp/strata-bench-unpack-<size> (mode 0700) and reused.

Then times, each the median of --runs, with `sync` and (as root) `echo 3 >
/proc/sys/vm/drop_caches` before every timed run, every target on the filesystem of --work-dir,
the tools in rotating order:
  bsdtar   bsdtar -x -p -z --numeric-owner -f LAYER -C DIR          (each layer in order)
           and, separately, the `sync -f DIR` (syncfs) that follows it
  GNU tar  tar -x -z -p --same-owner --numeric-owner --xattrs --xattrs-include='*'
               -f LAYER -C DIR                                        (each layer in order)
  umoci    umoci raw unpack --image LAYOUT:latest DIR
  strata   strata image unpack bench/unpack:latest --snapshotter overlayfs --json
           [--sequential] [--sync-fs], on a stratad of this build (root under --work-dir),
           after one `strata image import LAYOUT` (timed separately); the snapshots are
           removed between runs so that each run unpacks from scratch.
Whole processes are timed. The first run of each tool is checked against bsdtar's tree
(paths, types, modes, owners, sizes, link targets, file mtimes). Prints seconds and ratios
against bsdtar of the same run (aims: strata <= 1.0x bsdtar, --sync-fs <= 1.10x without).
If this build's `strata` has no `image unpack`, says so and reports the baselines.

Usage: bench/unpack.py [--size-mb N] [--runs N] [--build-dir DIR] [--cache-dir DIR]
                       [--work-dir DIR] [--tools LIST] [--no-drop-caches] [--rebuild-image]
                       [--keep]
Needs root for a fair run (owners, drop_caches, overlay mounts of the snapshotter).
"""
import argparse
import glob
import hashlib
import json
import os
import platform
import shutil
import socket
import stat
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

from benchlib import UNSUITABLE_FS, build_type, fs_type, tree_differences, tree_records

IMAGE_NAME = "bench/unpack:latest"
REF_NAME = "latest"  # org.opencontainers.image.ref.name, what umoci's LAYOUT:latest selects
GZIP = "/usr/bin/gzip"
LAYERS = (  # (source trees, share of the size budget)
    (("/usr/lib",), 0.40),
    (("/usr/share",), 0.45),  # the densest tree: most of the files
    (("/etc", "/usr/bin"), 0.15),  # /etc first: /usr/bin alone would fill the layer
)
LAYER_MEDIA_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
IMAGE_FORMAT = 1  # bumped when the layout this script writes changes; older caches are rebuilt
STRATA_MODES = (  # (tool name, extra unpack flags)
    ("strata", []),
    ("strata-sync", ["--sync-fs"]),
    ("strata-seq", ["--sequential"]),
    ("strata-seq-sync", ["--sequential", "--sync-fs"]),
)
ALL_TOOLS = ("bsdtar", "gnutar", "umoci") + tuple(m for m, _ in STRATA_MODES)
BSDTAR_FLAGS = ["-x", "-p", "-z", "--numeric-owner"]
GNUTAR_FLAGS = ["-x", "-z", "-p", "--same-owner", "--numeric-owner", "--xattrs",
                "--xattrs-include=*"]


# ---- building the image layout ----

class HashingWriter:
    """A file-like sink that hashes and counts what passes through to `out`."""

    def __init__(self, out):
        self.out = out
        self.sha = hashlib.sha256()
        self.n = 0

    def write(self, data):
        self.sha.update(data)
        self.out.write(data)
        self.n += len(data)
        return len(data)

    def tell(self):
        return self.n


def sorted_entries(path):
    """Directory entries of `path` in byte order of their names."""
    with os.scandir(path) as it:
        return sorted(it, key=lambda e: os.fsencode(e.name))


def walk_tree(top):
    """(absolute path, path relative to /) of `top` and everything below it, pre-order, in byte
    order of names; does not descend into other filesystems or through symlinks."""
    dev = os.lstat(top).st_dev
    stack = [top]
    while stack:
        path = stack.pop()
        yield path, path.lstrip("/")
        try:
            st = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
            try:
                children = sorted_entries(path)
            except OSError:
                continue
            stack.extend(e.path for e in reversed(children))


def xattr_headers(path):
    """PAX records of `path`'s extended attributes (not system.*, which are ACLs)."""
    out = {}
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return out
    for name in sorted(names):
        if name.startswith("system."):
            continue
        try:
            value = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            continue
        out["SCHILY.xattr." + name] = value.decode("utf-8", "surrogateescape")
    return out


def write_layer(tar_out, sources, budget, counts):
    """Writes one PAX tar of `sources` to `tar_out` until `budget` bytes of tar; returns bytes."""
    tar = tarfile.open(fileobj=tar_out, mode="w", format=tarfile.PAX_FORMAT)
    emitted_dirs = set()
    # Room for the two zero blocks and the record padding tar ends with.
    limit = budget - tarfile.RECORDSIZE - 2 * tarfile.BLOCKSIZE
    full = False
    for top in sources:
        # The parents of the tree first (usr/ before usr/lib/), as tar -c writes them.
        parts = top.strip("/").split("/")
        for i in range(1, len(parts)):
            parent = "/" + "/".join(parts[:i])
            if parent not in emitted_dirs:
                ti = tar.gettarinfo(parent, parent.lstrip("/"))
                ti.mtime = int(ti.mtime)
                tar.addfile(ti)
                emitted_dirs.add(parent)
                counts["dirs"] += 1
        for path, arcname in walk_tree(top):
            try:
                st = os.lstat(path)
            except OSError:
                counts["skipped"] += 1
                continue
            mode = st.st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
                counts["skipped"] += 1  # sockets, FIFOs, devices
                continue
            if stat.S_ISREG(mode) and not mode & stat.S_IROTH:
                counts["skipped"] += 1  # private files: keys, shadow; the cache is a plain dir
                continue
            size = -(-st.st_size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE if \
                stat.S_ISREG(mode) else 0
            # Header + a PAX header block for long names or xattrs, + the data.
            need = tarfile.BLOCKSIZE * (3 if len(arcname) > 99 else 1) + size
            if tar_out.n + need > limit:
                full = True
                break
            f = None
            try:
                if stat.S_ISREG(mode):
                    try:
                        f = open(path, "rb")
                    except OSError:
                        counts["skipped"] += 1
                        continue
                    ti = tar.gettarinfo(arcname=arcname, fileobj=f)
                    if ti is None or not ti.isreg() and not ti.islnk():
                        counts["skipped"] += 1
                        continue
                else:
                    ti = tar.gettarinfo(path, arcname)
                    if ti is None:
                        counts["skipped"] += 1
                        continue
                ti.mtime = int(ti.mtime)  # whole seconds, as image builders write layers
                ti.pax_headers.update(xattr_headers(path))
                if ti.islnk():
                    tar.addfile(ti)
                    counts["hardlinks"] += 1
                elif ti.isreg():
                    tar.addfile(ti, f)
                    counts["files"] += 1
                    counts["file_bytes"] += ti.size
                elif ti.issym():
                    tar.addfile(ti)
                    counts["symlinks"] += 1
                else:
                    tar.addfile(ti)
                    counts["dirs"] += 1
                    emitted_dirs.add(path)
            finally:
                if f:
                    f.close()
        if full:
            break
    tar.close()
    return tar_out.n


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return "sha256:" + h.hexdigest()


def oci_arch():
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(m, m)


def write_blob(layout, data, media_type):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": digest, "size": len(data)}


def build_layout(layout, size_mb):
    """Writes the OCI image layout into the new directory `layout`; returns its description."""
    blobs = os.path.join(layout, "blobs", "sha256")
    os.makedirs(blobs)
    budget_total = size_mb * 1024 * 1024
    carry = 0
    layers, diff_ids, info = [], [], []
    for i, (sources, share) in enumerate(LAYERS):
        budget = carry + int(budget_total * share)
        counts = {"files": 0, "dirs": 0, "symlinks": 0, "hardlinks": 0, "skipped": 0,
                  "file_bytes": 0}
        tmp = os.path.join(blobs, f"layer{i}.tmp")
        t0 = time.perf_counter()
        with open(tmp, "wb") as out:
            gz = subprocess.Popen([GZIP, "-6", "-n", "-c"], stdin=subprocess.PIPE, stdout=out,
                                  bufsize=1 << 20)
            writer = HashingWriter(gz.stdin)
            try:
                raw = write_layer(writer, sources, budget, counts)
            finally:
                gz.stdin.close()
                if gz.wait() != 0:
                    raise RuntimeError(f"{GZIP} failed ({gz.returncode})")
        digest = sha256_file(tmp)
        os.rename(tmp, os.path.join(blobs, digest[7:]))
        gz_size = os.path.getsize(os.path.join(blobs, digest[7:]))
        carry = max(0, budget - raw)
        diff_ids.append("sha256:" + writer.sha.hexdigest())
        layers.append({"mediaType": LAYER_MEDIA_TYPE, "digest": digest, "size": gz_size})
        info.append(dict(counts, sources=list(sources), raw_bytes=raw, gz_bytes=gz_size,
                         digest=digest, diff_id=diff_ids[-1]))
        print(f"  layer {i + 1} from {' + '.join(sources)}: {counts['files']} files, "
              f"{counts['dirs']} dirs, {counts['symlinks']} symlinks, {counts['hardlinks']} "
              f"hardlinks ({counts['skipped']} skipped); tar {raw / 1e6:.1f} MB, gzip "
              f"{gz_size / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s", flush=True)
    config = {
        "architecture": oci_arch(), "os": "linux",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"bench/unpack.py: {' + '.join(l['sources'])}"}
                    for l in info],
    }
    config_desc = write_blob(layout, json.dumps(config, indent=2).encode(),
                             "application/vnd.oci.image.config.v1+json")
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": layers}
    manifest_desc = write_blob(layout, json.dumps(manifest, indent=2).encode(),
                               "application/vnd.oci.image.manifest.v1+json")
    manifest_desc["annotations"] = {"io.containerd.image.name": IMAGE_NAME,
                                    "org.opencontainers.image.ref.name": REF_NAME}
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                   "manifests": [manifest_desc]}, f, indent=2)
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return {"format": IMAGE_FORMAT, "size_mb": size_mb, "layers": info, "diff_ids": diff_ids,
            "manifest": manifest_desc["digest"]}


def cached_layout(cache_dir, size_mb, rebuild):
    """The layout under `cache_dir` (built there first if missing or stale) and its description."""
    marker = os.path.join(cache_dir, "bench-image.json")
    layout = os.path.join(cache_dir, "layout")
    if not rebuild:
        try:
            with open(marker) as f:
                desc = json.load(f)
            if desc.get("format") == IMAGE_FORMAT and desc.get("size_mb") == size_mb:
                return layout, desc, False
        except (OSError, ValueError):
            pass
    shutil.rmtree(cache_dir, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.abspath(cache_dir)), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=os.path.basename(cache_dir) + ".tmp.",
                           dir=os.path.dirname(os.path.abspath(cache_dir)))  # mode 0700
    print(f"building the image layout ({size_mb} MB of tar) in {cache_dir}", flush=True)
    desc = build_layout(os.path.join(tmp, "layout"), size_mb)
    with open(os.path.join(tmp, "bench-image.json"), "w") as f:
        json.dump(desc, f, indent=2)
    os.rename(tmp, cache_dir)
    return layout, desc, True


def chain_ids(diff_ids):
    out = [diff_ids[0]]
    for d in diff_ids[1:]:
        out.append("sha256:" + hashlib.sha256(f"{out[-1]} {d}".encode()).hexdigest())
    return out


# ---- measuring ----

def version_of(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    return (p.stdout or p.stderr).strip().splitlines()[0] if (p.stdout or p.stderr) else "?"


class Settler:
    """What runs before every timed run: sync, and dropping the page cache where allowed."""

    def __init__(self, drop):
        self.drop = drop and os.geteuid() == 0
        if self.drop:
            try:
                self._drop()
            except OSError as e:
                print(f"  cannot drop caches ({e}); only syncing before runs")
                self.drop = False

    @staticmethod
    def _drop():
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")

    def __call__(self):
        subprocess.run(["sync"], check=True)
        if self.drop:
            self._drop()

    def describe(self):
        return "sync + drop_caches" if self.drop else "sync (page cache not dropped)"


def run_checked(cmd, **kwargs):
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, **kwargs)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()}")
    return p


def compare_trees(name, tree, reference):
    diffs = tree_differences(tree, reference)
    if not diffs:
        print(f"  check {name}: same tree as bsdtar ({len(tree)} paths)", flush=True)
        return True
    print(f"  check {name}: differs from bsdtar in {len(diffs)} of {len(reference)} paths:")
    for k in diffs[:10]:
        print(f"    {k}: {name} {tree.get(k)} vs bsdtar {reference.get(k)}")
    return False


class Unavailable(Exception):
    """The CLI refused `image unpack` with a usage error: this build does not have it."""


class Stratad:
    """A stratad of the build on a private root, state and socket under `work`."""

    def __init__(self, build_dir, work):
        self.stratad = os.path.abspath(os.path.join(build_dir, "host", "daemon", "stratad"))
        self.cli = os.path.abspath(os.path.join(build_dir, "cli", "strata"))
        self.work = work
        self.root = os.path.join(work, "stratad-root")
        self.socket = os.path.join(work, "s.sock")
        self.log = os.path.join(work, "stratad.log")
        self.proc = None

    def start(self):
        plugins = os.path.join(self.work, "plugins")
        os.makedirs(plugins)
        build = os.path.dirname(os.path.dirname(os.path.dirname(self.stratad)))
        found = sorted(glob.glob(os.path.join(build, "plugins", "**", "*.so"), recursive=True))
        for so in found:
            dst = os.path.join(plugins, os.path.basename(so))
            shutil.copyfile(so, dst)
            os.chmod(dst, 0o644)  # the host refuses group/other-writable plugin files
        argv = [self.stratad, "--root", self.root, "--state", os.path.join(self.work, "state"),
                "--address", self.socket, "--plugin-dir", plugins, "--log-level", "warn"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stratad exited with {self.proc.returncode}: {self.log_text()}")
            if self.healthy():
                return [os.path.basename(s) for s in found]
            time.sleep(0.05)
        raise RuntimeError(f"stratad not ready within 30 s: {self.log_text()}")

    def healthy(self):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(self.socket)
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: strata\r\nConnection: close\r\n\r\n")
            head = s.recv(64)
            s.close()
            return b" 200 " in head.split(b"\r\n", 1)[0]
        except OSError:
            return False

    def log_text(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")[-2000:]

    def run(self, *args, check=True):
        p = subprocess.run([self.cli, "--address", self.socket, *args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            raise RuntimeError(f"strata {' '.join(args)} failed ({p.returncode}): "
                               f"{p.stderr.strip()}")
        return p

    def snapshots(self):
        out = self.run("snapshots", "--snapshotter", "overlayfs", "ls", "--json").stdout
        return json.loads(out) if out.strip() else []

    def remove_all_snapshots(self):
        """Removes every overlayfs snapshot, children before their parents."""
        snaps = self.snapshots()
        while snaps:
            parents = {s.get("parent") for s in snaps if s.get("parent")}
            leaves = [s["name"] for s in snaps if s["name"] not in parents]
            if not leaves:
                raise RuntimeError(f"no leaf among the snapshots: {snaps}")
            self.run("snapshots", "--snapshotter", "overlayfs", "rm", *leaves)
            snaps = self.snapshots()

    def layer_dirs(self):
        return sorted(glob.glob(os.path.join(self.root, "strata.snapshotter.v1.overlayfs",
                                             "snapshots", "*", "fs")))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def unpack_support(daemon):
    """(True, flags it lacks) if this build's CLI has `image unpack`, else (False, why)."""
    if not os.access(daemon.cli, os.X_OK):
        return False, f"{daemon.cli} missing"
    p = subprocess.run([daemon.cli, "image", "unpack", "--help"], capture_output=True, text=True)
    text = p.stdout + p.stderr
    # Without the subcommand CLI11 prints `image`'s help instead ("Usage: strata image [OPTIONS]
    # SUBCOMMAND") or refuses the extra argument with a usage error.
    usage = [l for l in text.splitlines() if l.startswith("Usage:")]
    if p.returncode != 0 or not usage or "image unpack" not in usage[0]:
        return False, (usage[0] if usage else text.strip().splitlines()[0] if text.strip()
                       else f"exit {p.returncode}")
    return True, [f for f in ("--snapshotter", "--sync-fs", "--sequential", "--json")
                  if f not in text]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1024, help="uncompressed size of the image")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per tool")
    ap.add_argument("--build-dir", default="build", help="meson build directory")
    ap.add_argument("--cache-dir", help="where the layout is cached "
                    "(default /var/tmp/strata-bench-unpack-<size-mb>)")
    ap.add_argument("--work-dir", default="/var/tmp",
                    help="parent of the scratch directory: stratad's root and every target")
    ap.add_argument("--tools", default=",".join(ALL_TOOLS),
                    help="comma-separated subset of: " + ", ".join(ALL_TOOLS))
    ap.add_argument("--no-drop-caches", action="store_true",
                    help="only sync before runs (default: also drop the page cache, as root)")
    ap.add_argument("--rebuild-image", action="store_true", help="rebuild the cached layout")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    args = ap.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    unknown = [t for t in tools if t not in ALL_TOOLS]
    if unknown or not tools:
        sys.exit(f"unknown tools {unknown}; choose from {', '.join(ALL_TOOLS)}")
    # bsdtar always, and first: every ratio is against it, every tree is checked against its.
    tools = ["bsdtar"] + [t for t in dict.fromkeys(tools) if t != "bsdtar"]
    for prog in ("/usr/bin/bsdtar", GZIP):
        if not os.access(prog, os.X_OK):
            sys.exit(f"{prog} missing (apt-get install libarchive-tools gzip)")
    gnutar = shutil.which("tar")
    umoci = shutil.which("umoci")
    if os.geteuid() != 0:
        print("warning: not root: owners are not restored, caches not dropped, no overlay")

    cache_dir = args.cache_dir or f"/var/tmp/strata-bench-unpack-{args.size_mb}"
    layout, image, built = cached_layout(cache_dir, args.size_mb, args.rebuild_image)
    layer_files = [os.path.join(layout, "blobs", "sha256", l["digest"][7:])
                   for l in image["layers"]]
    totals = {k: sum(l[k] for l in image["layers"])
              for k in ("files", "dirs", "symlinks", "hardlinks", "raw_bytes", "gz_bytes")}

    work_parent = os.path.abspath(args.work_dir)
    ftype = fs_type(work_parent)
    if ftype in UNSUITABLE_FS:
        print(f"warning: {work_parent} is {ftype}: overlay snapshots may not work there and it "
              "measures no disk; pass --work-dir on a disk filesystem")
    work = tempfile.mkdtemp(prefix="strata-bench-unpack.", dir=work_parent)
    settle = Settler(not args.no_drop_caches)
    daemon = Stratad(args.build_dir, work)
    results = {}
    agree = {}
    try:
        print(f"unpack benchmark: {args.runs} runs per tool, {time.strftime('%Y-%m-%d %H:%M')}")
        print(f"  image {IMAGE_NAME}: {len(layer_files)} gzip layers, {totals['files']} files, "
              f"{totals['dirs']} dirs, {totals['symlinks']} symlinks, {totals['hardlinks']} "
              f"hardlinks; tar {totals['raw_bytes'] / 1e6:.0f} MB, gzip "
              f"{totals['gz_bytes'] / 1e6:.0f} MB ({'built now' if built else 'cached'} in "
              f"{cache_dir})")
        print(f"  targets under {work} ({ftype}); {settle.describe()} before every run")
        print(f"  {os.cpu_count()} CPUs, {platform.release()}; load "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; build type "
              f"{build_type(args.build_dir)}")
        print(f"  {version_of(['/usr/bin/bsdtar', '--version'])}")
        if gnutar:
            print(f"  {version_of([gnutar, '--version'])}")
        if umoci:
            print(f"  {version_of([umoci, '--version'])}")

        # ---- strata: start, check, import ----
        strata_ok = any(t.startswith("strata") for t in tools)
        modes = {}
        if strata_ok:
            why = None
            if not os.access(daemon.stratad, os.X_OK):
                why = f"{daemon.stratad} missing: build first (ninja -C {args.build_dir})"
            else:
                ok, detail = unpack_support(daemon)
                if not ok:
                    why = f"no `strata image unpack` ({detail})"
                elif detail:
                    why = f"`strata image unpack` lacks {', '.join(detail)}"
            if why is None:
                plugins = daemon.start()
                print(f"  stratad {daemon.stratad} with {len(plugins)} plugins: "
                      f"{', '.join(plugins)}")
                listing = json.loads(daemon.run("plugins", "ls", "--json").stdout)
                snap = [r for r in listing if r.get("type") == "strata.snapshotter.v1"
                        and r.get("id") == "overlayfs"]
                if not snap or snap[0].get("status") != "ok":
                    why = f"the overlayfs snapshotter is not ok: {snap[0] if snap else 'absent'}"
            if why is None:
                settle()
                t0 = time.perf_counter()
                daemon.run("image", "import", layout)
                import_s = time.perf_counter() - t0
                print(f"  strata image import (untimed in the table, once, cold cache): "
                      f"{import_s:.2f} s")
                for name, flags in STRATA_MODES:
                    if name in tools:
                        modes[name] = flags
            else:
                print("strata unpack: not available in this build")
                print(f"  ({why})")
                tools = [t for t in tools if not t.startswith("strata")]
        if "gnutar" in tools and not gnutar:
            print("GNU tar: not installed, skipped")
            tools.remove("gnutar")
        if "umoci" in tools and not umoci:
            print("umoci: not installed, skipped (apt-get install umoci)")
            tools.remove("umoci")

        expected_chain = chain_ids(image["diff_ids"])[-1]
        summaries = {}
        server = {name: [] for name, _ in STRATA_MODES}  # the unpack's own "seconds"

        def extract_layers(cmd_of, dest):
            os.mkdir(dest)
            t0 = time.perf_counter()
            for layer in layer_files:
                run_checked(cmd_of(layer, dest))
            return time.perf_counter() - t0

        def run_tool(name, dest):
            """Times one run of `name`; returns (seconds, extra seconds or None, roots)."""
            if name == "bsdtar":
                s = extract_layers(lambda l, d: ["/usr/bin/bsdtar", *BSDTAR_FLAGS, "-f", l,
                                                 "-C", d], dest)
                t0 = time.perf_counter()
                run_checked(["sync", "-f", dest])
                return s, time.perf_counter() - t0, [dest]
            if name == "gnutar":
                return extract_layers(lambda l, d: [gnutar, *GNUTAR_FLAGS, "-f", l, "-C", d],
                                      dest), None, [dest]
            if name == "umoci":
                t0 = time.perf_counter()
                run_checked([umoci, "raw", "unpack", "--image", f"{layout}:{REF_NAME}", dest])
                return time.perf_counter() - t0, None, [dest]
            t0 = time.perf_counter()
            p = daemon.run("image", "unpack", IMAGE_NAME, "--snapshotter", "overlayfs",
                           *modes[name], "--json", check=False)
            s = time.perf_counter() - t0
            if p.returncode != 0 and "usage error" in p.stderr:
                raise Unavailable(p.stderr.strip().splitlines()[0])
            if p.returncode != 0:
                raise RuntimeError(f"strata image unpack {' '.join(modes[name])} failed "
                                   f"({p.returncode}): {p.stderr.strip()}")
            summary = json.loads(p.stdout)
            summaries[name] = summary
            if summary.get("chainId") != expected_chain:
                raise RuntimeError(f"{name}: chainId {summary.get('chainId')}, expected "
                                   f"{expected_chain} (the image's diff_ids)")
            layers = summary.get("layers")
            if isinstance(layers, list) and not all(l.get("applied", True) for l in layers):
                raise RuntimeError(f"{name}: not every layer was applied (snapshots left from "
                                   f"an earlier run?): {layers}")
            if "seconds" in summary:
                server[name].append(summary["seconds"])
            return s, None, daemon.layer_dirs()

        def clean(name, dest):
            if name.startswith("strata"):
                daemon.remove_all_snapshots()
                left = daemon.layer_dirs()
                if left:
                    raise RuntimeError(f"snapshots left after removal: {left}")
            else:
                shutil.rmtree(dest)

        samples = {t: [] for t in tools}
        extra = {t: [] for t in tools}
        reference = None
        n = 0
        for i in range(args.runs):
            # Rotating the order, so that no tool always follows the same one's deletions.
            order = tools[i % len(tools):] + tools[:i % len(tools)]
            if i == 0:
                order = tools  # bsdtar first: the others' trees are checked against it
            for name in order:
                dest = os.path.join(work, f"dest{n}")
                n += 1
                if name not in tools:
                    continue  # dropped in this round: strata without unpack
                settle()
                try:
                    s, x, roots = run_tool(name, dest)
                except Unavailable as e:
                    print("strata unpack: not available in this build")
                    print(f"  ({e})")
                    tools = [t for t in tools if not t.startswith("strata")]
                    modes.clear()
                    for t in list(samples):
                        if t.startswith("strata"):
                            del samples[t]
                    continue
                samples[name].append(s)
                if x is not None:
                    extra[name].append(x)
                print(f"  run {i + 1} {name:<16} {s:8.2f} s" +
                      (f"   (+ syncfs {x:.2f} s)" if x is not None else ""), flush=True)
                if i == 0:
                    tree = tree_records(roots)
                    if name == "bsdtar":
                        reference = tree
                    else:
                        agree[name] = compare_trees(name, tree, reference)
                clean(name, dest)

        # ---- report ----
        med = {t: statistics.median(v) for t, v in samples.items()}
        b = med["bsdtar"]
        labels = {
            "bsdtar": "bsdtar -x, 3 layers",
            "bsdtar+syncfs": "bsdtar -x, then syncfs",
            "gnutar": "GNU tar -x, 3 layers",
            "umoci": "umoci raw unpack",
            "strata": "strata parallel",
            "strata-sync": "strata parallel --sync-fs",
            "strata-seq": "strata --sequential",
            "strata-seq-sync": "strata --sequential --sync-fs",
        }
        rows = []
        for t in tools:
            rows.append((t, med[t], min(samples[t])))
            if t == "bsdtar" and extra["bsdtar"]:
                both = [s + x for s, x in zip(samples["bsdtar"], extra["bsdtar"])]
                med["bsdtar+syncfs"] = statistics.median(both)
                rows.append(("bsdtar+syncfs", med["bsdtar+syncfs"], min(both)))
        print(f"\nresults (seconds, {args.runs} runs; ratio = median / bsdtar median):")
        print(f"  {'tool':<32} {'median':>8} {'min':>8} {'/ bsdtar':>9}  aim")
        for t, m, lo in rows:
            aim = "<= 1.0x" if t.startswith("strata") else ""
            mark = "" if t in ("bsdtar", "bsdtar+syncfs") or agree.get(t, True) else \
                "  (tree differs!)"
            print(f"  {labels[t]:<32} {m:8.2f} {lo:8.2f} {m / b:8.2f}x  {aim}{mark}")
        pairs = [("strata-sync", "strata", "parallel"), ("strata-seq-sync", "strata-seq",
                                                          "sequential")]
        lines = []
        for with_sync, without, mode in pairs:
            if with_sync in med and without in med:
                r = med[with_sync] / med[without]
                lines.append(f"  --sync-fs / without, {mode}: {r:.2f}x  (aim: <= 1.10x)")
        if "strata-seq" in med and "strata" in med:
            lines.append(f"  parallel / --sequential: {med['strata'] / med['strata-seq']:.2f}x")
        if "strata-sync" in med and "bsdtar+syncfs" in med:
            lines.append(f"  strata parallel --sync-fs / (bsdtar + syncfs): "
                         f"{med['strata-sync'] / med['bsdtar+syncfs']:.2f}x")
        if lines:
            print("\n".join(lines))
        for name, summary in summaries.items():
            brief = {k: summary[k] for k in ("parallel", "syncFs") if k in summary}
            took = f", stratad's own median {statistics.median(server[name]):.2f} s" \
                if server.get(name) else ""
            print(f"  {name}: {json.dumps(brief, sort_keys=True)}{took}, chainId "
                  f"{summary.get('chainId')}")
        summary_line = ", ".join(f"{t} {med[t] / b:.2f}x" for t in tools if t != "bsdtar")
        print(f"summary: bsdtar {b:.2f} s; {summary_line}")
        if not modes and strata_ok:
            print("strata unpack: not available in this build")
        results = med
    finally:
        daemon.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if results and not all(agree.values()):
        print("FAILED: some trees differ from bsdtar's (above): their times compare nothing")
        return 1
    return 0 if results else 1


if __name__ == "__main__":
    sys.exit(main())
