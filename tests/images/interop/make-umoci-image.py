#!/usr/bin/env python3
"""Builds OCI image layouts with third-party tools (umoci, skopeo) for interop tests of strata.

  make-umoci-image.py OUT

Writes, below OUT (which must not exist or be empty):
  umoci/          an OCI layout made by umoci: tag "interop" (5 layers) and tag
                  "interop-insert" (interop + 2 layers made by `umoci insert`, see below)
  skopeo/         `skopeo copy oci:OUT/umoci:interop oci:OUT/skopeo:interop`
  skopeo.tar      `skopeo copy oci:OUT/umoci:interop oci-archive:OUT/skopeo.tar:interop`
  rootfs-interop/ `umoci raw unpack` of umoci:interop: the reference rootfs
  rootfs-insert/  `umoci raw unpack` of umoci:interop-insert
  rootfs-skopeo/  `umoci raw unpack` of skopeo:interop (must equal rootfs-interop)
  summary.json    per layout and tag: manifest digest, layer count, layer media types

and prints one line per image: "LAYOUT TAG MANIFEST_DIGEST LAYERS".

The "interop" image, built with umoci unpack / modify the bundle's rootfs / umoci repack:
  layer 1 (repack)  etc/hostname with xattrs user.interop.note and trusted.interop.secret,
                    bin/tool 0755, bin/suid 04755, bin/sgid 02755, secret/ 0700 with key 0600,
                    owned/ 0750 and owned/file 0640 owned by 1234:5678, data/big with a hardlink
                    data/big.link, symlinks data/latest -> big, abs-link -> /etc/hostname and
                    dangling -> does/not/exist, tmp/ 01777, old/ (x, sub/y), cache/ (a, b),
                    opt/app/ (v1, lib/so), etc/remove-me
  layer 2 (repack)  removes etc/remove-me (file whiteout) and old/ (directory whiteout),
                    deletes and re-creates cache/ with only c (umoci writes one whiteout per old
                    child, not an opaque marker), changes the xattr of etc/hostname, chmods
                    bin/tool 0700, adds the hardlink data/big.link2 to the lower layer's data/big
  layer 3 (repack)  lchowns abs-link to 1234:5678, adds owned/setuid-user (04750, 1234:5678) and
                    the FIFO run/fifo
  layer 4 (`umoci raw add-layer` of a tar written here)  makes opt/app opaque
                    (.wh..wh..opq) holding only v2: umoci's own repack never writes opaque markers
  layer 5 (repack)  removes data/latest (symlink whiteout) and secret/, replaces the directory
                    cache/ by a regular file cache
Every file's mtime is fixed (touch -h -d @1704067200) before each repack, history is off and the
config's created time is fixed, so the same umoci version gives the same digests.

The "interop-insert" tag adds `umoci insert --opaque` (opt/app from a source dir) and `umoci
insert --whiteout /etc/hostname`. umoci <= 0.4.7 (Debian 12's) does not close the tar writer of
insert layers (umoci issue #436, fixed by PR #534): those layer tars have no end-of-archive
blocks, and the opaque one not even the padding of its last file. GNU tar and Python's tarfile
refuse them, bsdtar extracts the entries and then exits 1 ("Truncated input file"); umoci (Go's
archive/tar) accepts them. They are kept as a real-world quirk, not as a valid image.

Needs root (owners, trusted.* xattrs), umoci and skopeo. Exit 0, 1 on errors, 2 on usage errors,
3 when umoci or skopeo is missing.
"""

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

TAG = "interop"
INSERT_TAG = "interop-insert"
EPOCH = 1704067200  # 2024-01-01T00:00:00Z
CREATED = "2024-01-01T00:00:00Z"
TIMEOUT = 120


def fail(message, code=1):
    print(f"make-umoci-image: {message}", file=sys.stderr)
    sys.exit(code)


def tool(name):
    path = shutil.which(name)
    if not path:
        fail(f"`{name}` is not installed (Debian package {name})", 3)
    return path


def run(*argv):
    try:
        proc = subprocess.run(list(argv), stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        fail(f"{' '.join(argv)} did not finish within {TIMEOUT}s")
    if proc.returncode != 0:
        fail(f"{' '.join(argv)} failed with {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def write(path, data, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.chmod(path, mode)


def mkdir(path, mode=0o755):
    os.makedirs(path, exist_ok=True)
    os.chmod(path, mode)


def rm(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    else:
        os.unlink(path)


def fix_mtimes(root):
    """Every mtime (and atime) below and of `root` set to EPOCH, symlinks themselves included."""
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (EPOCH, EPOCH), follow_symlinks=False)
    os.utime(root, (EPOCH, EPOCH))


class Builder:
    def __init__(self, umoci, out):
        self.umoci = umoci
        self.layout = os.path.join(out, "umoci")
        self.work = os.path.join(out, "work")
        self.bundle = os.path.join(self.work, "bundle")

    def image(self, tag=TAG):
        return f"{self.layout}:{tag}"

    def unpack(self):
        if os.path.exists(self.bundle):
            shutil.rmtree(self.bundle)
        run(self.umoci, "unpack", "--image", self.image(), self.bundle)
        return os.path.join(self.bundle, "rootfs")

    def repack(self, rootfs):
        fix_mtimes(rootfs)
        run(self.umoci, "repack", "--no-history", "--refresh-bundle", "--image", self.image(),
            self.bundle)

    def add_layer(self, entries):
        """`umoci raw add-layer` of an uncompressed tar of (name, type, mode, data) entries."""
        path = os.path.join(self.work, "layer.tar")
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
            for name, kind, mode, data in entries:
                info = tarfile.TarInfo(name)
                info.mtime, info.mode, info.uname, info.gname = EPOCH, mode, "", ""
                if kind == "dir":
                    info.type = tarfile.DIRTYPE
                    t.addfile(info)
                else:
                    info.size = len(data)
                    t.addfile(info, io.BytesIO(data))
        run(self.umoci, "raw", "add-layer", "--no-history", "--image", self.image(), path)
        os.unlink(path)


def build(umoci, out):
    b = Builder(umoci, out)
    os.makedirs(b.work)
    run(umoci, "init", "--layout", b.layout)
    run(umoci, "new", "--image", b.image())

    # Layer 1: the base.
    r = b.unpack()
    write(f"{r}/etc/hostname", "interop\n")
    os.setxattr(f"{r}/etc/hostname", "user.interop.note", b"base")
    os.setxattr(f"{r}/etc/hostname", "trusted.interop.secret", b"root-only")
    write(f"{r}/etc/remove-me", "deleted by layer 2\n")
    write(f"{r}/bin/tool", "#!/bin/sh\necho tool\n", 0o755)
    write(f"{r}/bin/suid", "#!/bin/sh\nid -u\n", 0o755)
    os.chmod(f"{r}/bin/suid", 0o4755)
    write(f"{r}/bin/sgid", "#!/bin/sh\nid -g\n", 0o755)
    os.chmod(f"{r}/bin/sgid", 0o2755)
    mkdir(f"{r}/secret", 0o700)
    write(f"{r}/secret/key", "not a real key\n", 0o600)
    mkdir(f"{r}/owned", 0o750)
    write(f"{r}/owned/file", "owned by 1234:5678\n", 0o640)
    os.chown(f"{r}/owned/file", 1234, 5678)
    os.chown(f"{r}/owned", 1234, 5678)
    write(f"{r}/data/big", "".join(f"line {i} of data/big\n" for i in range(2000)))
    os.link(f"{r}/data/big", f"{r}/data/big.link")
    os.symlink("big", f"{r}/data/latest")
    os.symlink("/etc/hostname", f"{r}/abs-link")
    os.symlink("does/not/exist", f"{r}/dangling")
    mkdir(f"{r}/tmp", 0o1777)
    os.chmod(f"{r}/tmp", 0o1777)
    write(f"{r}/old/x", "x\n")
    write(f"{r}/old/sub/y", "y\n")
    write(f"{r}/cache/a", "a\n")
    write(f"{r}/cache/b", "b\n")
    write(f"{r}/opt/app/v1", "app version 1\n")
    write(f"{r}/opt/app/lib/so", "library of version 1\n")
    b.repack(r)

    # Layer 2: whiteouts, a deleted and re-created directory, metadata-only changes, a hardlink
    # to a file of the lower layer.
    os.unlink(f"{r}/etc/remove-me")
    shutil.rmtree(f"{r}/old")
    shutil.rmtree(f"{r}/cache")
    write(f"{r}/cache/c", "c, after cache/ was deleted and re-created\n")
    os.setxattr(f"{r}/etc/hostname", "user.interop.note", b"changed by layer 2")
    os.chmod(f"{r}/bin/tool", 0o700)
    os.link(f"{r}/data/big", f"{r}/data/big.link2")
    b.repack(r)

    # Layer 3: owners on a symlink, a setuid file of another user, a FIFO.
    os.chown(f"{r}/abs-link", 1234, 5678, follow_symlinks=False)
    write(f"{r}/owned/setuid-user", "#!/bin/sh\nid\n", 0o750)
    os.chown(f"{r}/owned/setuid-user", 1234, 5678)
    os.chmod(f"{r}/owned/setuid-user", 0o4750)
    mkdir(f"{r}/run")
    os.mkfifo(f"{r}/run/fifo", 0o600)
    b.repack(r)

    # Layer 4: an opaque directory, in a tar written here (umoci repack never writes one).
    b.add_layer([
        ("opt", "dir", 0o755, None),
        ("opt/app", "dir", 0o755, None),
        ("opt/app/.wh..wh..opq", "file", 0o644, b""),
        ("opt/app/v2", "file", 0o644, b"app version 2 (opaque: v1 and lib/ are gone)\n"),
    ])

    # Layer 5 (from a fresh bundle, since add-layer changed the image): more whiteouts, a
    # directory replaced by a file.
    r = b.unpack()
    os.unlink(f"{r}/data/latest")
    shutil.rmtree(f"{r}/secret")
    shutil.rmtree(f"{r}/cache")
    write(f"{r}/cache", "cache is a file now\n")
    b.repack(r)
    run(umoci, "config", "--no-history", "--image", b.image(), "--created", CREATED,
        "--author", "strata interop fixtures")

    # interop-insert: what `umoci insert` writes (truncated layer tars with umoci <= 0.4.7).
    src = os.path.join(b.work, "insert-src")
    write(f"{src}/v3", "app version 3, by umoci insert --opaque\n")
    fix_mtimes(src)
    run(umoci, "insert", "--no-history", "--image", b.image(), "--tag", INSERT_TAG, "--opaque",
        src, "/opt/app")
    run(umoci, "insert", "--no-history", "--image", b.image(INSERT_TAG), "--whiteout",
        "/etc/hostname")
    # Drop the blobs of intermediate images (their configs carry the time of each step).
    run(umoci, "gc", "--layout", b.layout)
    shutil.rmtree(b.work)
    return b.layout


def manifest_of(layout, tag):
    with open(os.path.join(layout, "index.json"), "rb") as f:
        index = json.load(f)
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            with open(os.path.join(layout, "blobs", "sha256", m["digest"][7:]), "rb") as f:
                return m["digest"], json.load(f)
    fail(f"{layout} has no tag {tag}")


def main(argv):
    p = argparse.ArgumentParser(prog="make-umoci-image.py", description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 1)[1],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", metavar="OUT", help="output directory (must not exist or be empty)")
    args = p.parse_args(argv)
    umoci, skopeo = tool("umoci"), tool("skopeo")
    if os.geteuid() != 0:
        fail("needs root: the images carry owners and trusted.* xattrs")
    out = os.path.abspath(args.out)
    if os.path.lexists(out) and (not os.path.isdir(out) or os.listdir(out)):
        fail(f"{out} exists and is not an empty directory", 2)
    os.makedirs(out, exist_ok=True)
    os.umask(0o022)

    layout = build(umoci, out)
    copy = os.path.join(out, "skopeo")
    for dest in (f"oci:{copy}:{TAG}", f"oci-archive:{copy}.tar:{TAG}"):
        run(skopeo, "--insecure-policy", "copy", "--quiet", f"oci:{layout}:{TAG}", dest)
    for src, tag, rootfs in ((layout, TAG, "rootfs-interop"), (layout, INSERT_TAG, "rootfs-insert"),
                             (copy, TAG, "rootfs-skopeo")):
        run(umoci, "raw", "unpack", "--image", f"{src}:{tag}", os.path.join(out, rootfs))

    summary = {}
    for name, src, tags in (("umoci", layout, (TAG, INSERT_TAG)), ("skopeo", copy, (TAG,))):
        for tag in tags:
            digest, manifest = manifest_of(src, tag)
            summary.setdefault(name, {})[tag] = {
                "manifest": digest, "layers": len(manifest["layers"]),
                "layer_media_types": [l["mediaType"] for l in manifest["layers"]]}
            print(f"{name} {tag} {digest} {len(manifest['layers'])}")
    with open(os.path.join(out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
