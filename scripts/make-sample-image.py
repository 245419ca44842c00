#!/usr/bin/env python3
"""Writes a deterministic OCI image layout: the strata sample image, or a many-layer stress image.

The same arguments always give the same bytes, so the same digests (on one architecture: the
config names the host's, see --arch). Everything is Python 3 standard library.

  make-sample-image.py OUT                       the sample image (3 layers, below) in directory OUT
  make-sample-image.py OUT --tar                 the same layout as one tar file OUT
  make-sample-image.py OUT --layers 100 --whiteouts --expect-tree TREE
                                                 a 100-layer stress image, and the rootfs that
                                                 unpacking it must give, written to TREE

The sample image (no --layers) is a tiny rootfs in three layers:
  layer 1  bin/hello (0755 shell script), bin/hello-again (hardlink to it), bin/greet (symlink
           -> hello), usr/bin/hello (absolute symlink -> /bin/hello), etc/os-release ("strata
           sample", with the xattr user.strata.sample as a SCHILY.xattr PAX record), etc/motd,
           usr/share/doc/sample/README, home/sample (0750, owner 1000:1000) with .profile,
           opt/data/{a,b}, var/cache/sample/{stale,keep}
  layer 2  whiteouts: etc/.wh.motd (file) and var/cache/sample/.wh.stale; opt/data made opaque
           (.wh..wh..opq) holding only c; usr/share/doc/sample/CHANGES
  layer 3  usr/libexec/sample-helper (04755), etc/sample.conf (0600), an empty directory
           srv/empty (0700), usr/share/doc/sample/README rewritten

The stress image (--layers N): layer i adds stress/f<i>-<k> for k < --files-per-layer, rewrites
stress/counter (its last writer must win), and adds stress/gone-<i> and the directory
stress/dir-<i>/. With --whiteouts every layer i > 0 also whites out stress/gone-<i-1> (a file)
and stress/dir-<i-1> (a directory with content), both made by layer i-1, and re-creates the
opaque directory stress/opaque/ (.wh..wh..opq) holding only stress/opaque/from-<i>. Applied in
order with whiteouts honoured, the rootfs keeps only the last layer's gone-, dir- and from-.

Layers are gzip (mtime 0, no file name, level 6) unless --no-gzip; tar entries are PAX, sorted
(a directory's whiteouts before its other entries), with fixed mtimes and numeric owners and
empty user/group names; JSON has sorted keys and no spaces. index.json names the image NAME with
both org.opencontainers.image.ref.name and io.containerd.image.name.

Prints "NAME MANIFEST_DIGEST" on stdout. Exit 0, 1 on errors, 2 on usage errors.
"""

import argparse
import hashlib
import io
import json
import os
import platform
import shutil
import stat
import struct
import sys
import tarfile
import zlib

DEFAULT_NAME = "localhost/strata/sample:latest"
STRESS_NAME = "localhost/strata/stress:{}"
MTIME = 1704067200  # 2024-01-01T00:00:00Z, every tar entry's mtime
CREATED = "2024-01-01T00:00:00Z"
MAX_LAYERS = 1000

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
XATTR_PAX = "SCHILY.xattr."


def fail(message, code=1):
    print(f"make-sample-image: {message}", file=sys.stderr)
    sys.exit(code)


def host_arch():
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(machine, machine)


# ---- layers as lists of entries ----

class Entry:
    """One tar entry: kind is "file", "dir", "symlink", "hardlink" (target: a path in the
    rootfs) or "whiteout" (a .wh.* regular file, always empty, 0644, root)."""

    def __init__(self, path, kind, mode=0o644, data=b"", target="", uid=0, gid=0, xattrs=None):
        self.path, self.kind, self.mode, self.data = path, kind, mode, data
        self.target, self.uid, self.gid = target, uid, gid
        self.xattrs = dict(xattrs or {})


def d(path, mode=0o755, uid=0, gid=0):
    return Entry(path, "dir", mode, uid=uid, gid=gid)


def f(path, data, mode=0o644, uid=0, gid=0, xattrs=None):
    return Entry(path, "file", mode, data.encode() if isinstance(data, str) else data,
                 uid=uid, gid=gid, xattrs=xattrs)


def wh(path):
    parent, _, base = path.rpartition("/")
    return Entry((parent + "/" if parent else "") + WHITEOUT + base, "whiteout")


def opaque(directory):
    return Entry(directory + "/" + OPAQUE, "whiteout")


def with_parents(entries):
    """Adds a 0755 root-owned entry for every parent directory the layer does not list."""
    have = {e.path for e in entries}
    out = list(entries)
    for e in entries:
        parts = e.path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p not in have:
                have.add(p)
                out.append(d(p))
    return out


def sort_key(path):
    # Component by component (a parent sorts before its children); within one directory the
    # whiteouts come first, as the OCI image spec recommends.
    return [(0 if c.startswith(WHITEOUT) else 1, c.encode()) for c in path.split("/")]


def sample_layers():
    os_release = ('NAME="strata sample"\nID=strata-sample\nVERSION_ID=1\n'
                  'PRETTY_NAME="strata sample image"\n')
    hello = "#!/bin/sh\necho 'hello from the strata sample image'\n"
    layer1 = [
        d("bin"), f("bin/hello", hello, 0o755),
        Entry("bin/hello-again", "hardlink", 0o755, target="bin/hello"),
        Entry("bin/greet", "symlink", 0o777, target="hello"),
        d("usr/bin"), Entry("usr/bin/hello", "symlink", 0o777, target="/bin/hello"),
        d("etc"), f("etc/os-release", os_release, xattrs={"user.strata.sample": "hello"}),
        f("etc/motd", "welcome to the strata sample image (deleted by layer 2)\n"),
        f("usr/share/doc/sample/README",
          "The strata sample image: three layers made by scripts/make-sample-image.py.\n"),
        d("home/sample", 0o750, 1000, 1000),
        f("home/sample/.profile", "export PS1='sample$ '\n", 0o640, 1000, 1000),
        d("opt/data"), f("opt/data/a", "a from layer 1\n"), f("opt/data/b", "b from layer 1\n"),
        d("var/cache/sample"), f("var/cache/sample/stale", "stale\n"),
        f("var/cache/sample/keep", "kept\n"),
    ]
    layer2 = [
        d("etc"), wh("etc/motd"),
        d("var/cache/sample"), wh("var/cache/sample/stale"),
        d("opt/data"), opaque("opt/data"), f("opt/data/c", "c from layer 2 (opaque)\n"),
        f("usr/share/doc/sample/CHANGES", "layer 2: removed etc/motd, replaced opt/data\n"),
    ]
    layer3 = [
        f("usr/libexec/sample-helper", "#!/bin/sh\nid\n", 0o4755),
        f("etc/sample.conf", "secret=not-really\n", 0o600),
        d("srv/empty", 0o700),
        f("usr/share/doc/sample/README",
          "The strata sample image: three layers made by scripts/make-sample-image.py.\n"
          "Layer 3 rewrote this file.\n"),
    ]
    return [layer1, layer2, layer3]


def stress_layers(n, whiteouts, per_layer):
    layers = []
    for i in range(n):
        entries = [d("stress")]
        if whiteouts and i > 0:
            entries += [wh(f"stress/gone-{i - 1:03d}"), wh(f"stress/dir-{i - 1:03d}")]
        for k in range(per_layer):
            # Sizes vary from empty to a few KiB, so layers are not all alike.
            entries.append(f(f"stress/f{i:03d}-{k}", f"layer {i} file {k}\n" * ((i * 7 + k) % 97)))
        entries += [
            f("stress/counter", f"{i}\n"),
            f(f"stress/gone-{i:03d}", f"made by layer {i}\n"),
            d(f"stress/dir-{i:03d}"), f(f"stress/dir-{i:03d}/inner", f"inside dir {i}\n"),
        ]
        if whiteouts:
            entries.append(d("stress/opaque"))
            if i > 0:
                entries.append(opaque("stress/opaque"))
            entries.append(f(f"stress/opaque/from-{i:03d}", f"opaque content of layer {i}\n"))
        layers.append(entries)
    return layers


# ---- bytes ----

def layer_tar(entries):
    """The uncompressed layer tar of `entries`, deterministic."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in sorted(with_parents(entries), key=lambda e: sort_key(e.path)):
            info = tarfile.TarInfo(e.path)
            info.mtime = MTIME
            info.uid, info.gid, info.uname, info.gname = e.uid, e.gid, "", ""
            info.mode = e.mode
            data = None
            if e.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif e.kind in ("file", "whiteout"):
                info.type = tarfile.REGTYPE
                data = e.data
                info.size = len(data)
            elif e.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, e.target
            elif e.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, e.target
            else:
                raise ValueError(e.kind)
            if e.xattrs:
                info.pax_headers = {XATTR_PAX + k: v for k, v in sorted(e.xattrs.items())}
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def gzip_bytes(data, level=6):
    """gzip with a fixed header: no name, mtime 0, OS 255 (unknown)."""
    c = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, 9)
    body = c.compress(data) + c.flush()
    header = b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + b"\x00\xff"
    return header + body + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF,
                                       len(data) & 0xFFFFFFFF)


def canonical_json(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Layout:
    def __init__(self):
        self.files = {"oci-layout": canonical_json({"imageLayoutVersion": "1.0.0"})}

    def blob(self, media_type, data):
        digest = sha256(data)
        self.files["blobs/sha256/" + digest[7:]] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def write_dir(self, out):
        os.makedirs(out, exist_ok=True)
        for name, data in sorted(self.files.items()):
            path = os.path.join(out, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as fh:
                fh.write(data)

    def write_tar(self, out):
        names = set(self.files)
        dirs = {"blobs", "blobs/sha256"}
        with open(out, "wb") as fh, tarfile.open(fileobj=fh, mode="w",
                                                format=tarfile.PAX_FORMAT) as t:
            for name in sorted(names | dirs):
                info = tarfile.TarInfo(name)
                info.mtime, info.uname, info.gname = MTIME, "", ""
                if name in dirs:
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    t.addfile(info)
                else:
                    info.size, info.mode = len(self.files[name]), 0o644
                    t.addfile(info, io.BytesIO(self.files[name]))


def build(layers, name, arch, gzip_layers, description):
    layout = Layout()
    raws, descs, diff_ids, history = [], [], [], []
    for i, entries in enumerate(layers):
        raw = layer_tar(entries)
        raws.append(raw)
        diff_ids.append(sha256(raw))
        if gzip_layers:
            descs.append(layout.blob(MT_LAYER_GZIP, gzip_bytes(raw)))
        else:
            descs.append(layout.blob(MT_LAYER, raw))
        history.append({"created": CREATED, "created_by": f"make-sample-image.py: layer {i + 1}"})
    config = {
        "architecture": arch, "os": "linux", "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/bin/hello"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_desc = layout.blob(MT_CONFIG, canonical_json(config))
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": config_desc,
                "layers": descs,
                "annotations": {"org.opencontainers.image.description": description}}
    manifest_desc = layout.blob(MT_MANIFEST, canonical_json(manifest))
    entry = dict(manifest_desc)
    entry["annotations"] = {"io.containerd.image.name": name,
                            "org.opencontainers.image.ref.name": name}
    entry["platform"] = {"architecture": arch, "os": "linux"}
    layout.files["index.json"] = canonical_json(
        {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [entry]})
    return layout, manifest_desc, raws


# ---- the expected rootfs: the layer tars applied with whiteout semantics ----

def inside(root, rel):
    """root/rel for a relative, normalised tar path; refuses anything that could escape."""
    if rel.startswith("./"):
        rel = rel[2:]
    parts = rel.rstrip("/").split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"unsafe path in layer: {rel!r}")
    return os.path.join(root, *parts)


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)


def apply_layer(root, raw, dir_meta, can_chown):
    """Applies one uncompressed layer tar to `root` as containerd's applier does: .wh.NAME
    removes NAME, .wh..wh..opq removes what lower layers put in its directory, an entry replaces
    whatever non-directory (or, if it is not a directory itself, directory) is at its path."""
    made = set()  # paths this layer wrote: an opaque marker keeps them
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
        for m in t.getmembers():
            path = inside(root, m.name)
            parent, base = os.path.split(path)
            if not os.path.isdir(parent):
                raise ValueError(f"{m.name}: parent is not a directory")
            if base == OPAQUE:
                for child in os.listdir(parent):
                    if os.path.join(parent, child) not in made:
                        remove(os.path.join(parent, child))
                continue
            if base.startswith(WHITEOUT):
                remove(os.path.join(parent, base[len(WHITEOUT):]))
                continue
            if m.isdir():
                if not (os.path.isdir(path) and not os.path.islink(path)):
                    remove(path)
                    os.mkdir(path)
            else:
                remove(path)
                if m.isreg():
                    with open(path, "wb") as out:
                        out.write(t.extractfile(m).read())
                elif m.issym():
                    os.symlink(m.linkname, path)
                elif m.islnk():
                    os.link(inside(root, m.linkname), path, follow_symlinks=False)
                else:
                    raise ValueError(f"{m.name}: unsupported entry type {m.type!r}")
            made.add(path)
            if m.islnk():
                continue  # a hardlink shares its target's inode and metadata
            if can_chown:
                os.chown(path, m.uid, m.gid, follow_symlinks=False)
            if not m.issym():
                os.chmod(path, stat.S_IMODE(m.mode))  # after chown, which clears setuid
            for key, value in m.pax_headers.items():
                if key.startswith(XATTR_PAX):
                    os.setxattr(path, key[len(XATTR_PAX):], value.encode("utf-8", "surrogateescape"),
                                follow_symlinks=False)
            if m.isdir():
                dir_meta[path] = m.mtime  # set last: children change it
            else:
                os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)


def expect_tree(root, raws):
    if os.path.lexists(root) and (not os.path.isdir(root) or os.listdir(root)):
        fail(f"--expect-tree {root}: must not exist or be an empty directory")
    os.makedirs(root, exist_ok=True)
    can_chown = os.geteuid() == 0
    if not can_chown:
        print("make-sample-image: not root: the expected tree keeps your uid/gid instead of the "
              "layers' owners", file=sys.stderr)
    dir_meta = {}
    for raw in raws:
        apply_layer(root, raw, dir_meta, can_chown)
    for path, mtime in sorted(dir_meta.items(), key=lambda kv: -len(kv[0])):
        if os.path.isdir(path):
            os.utime(path, (mtime, mtime))


# ---- command line ----

def main(argv):
    p = argparse.ArgumentParser(
        prog="make-sample-image.py",
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", metavar="OUT",
                   help="the layout directory to write (created; must not exist or be empty), "
                        "or with --tar the tar file")
    p.add_argument("--tar", action="store_true", help="write the layout as one tar file")
    p.add_argument("--name",
                   help=f"the image name in index.json (default {DEFAULT_NAME}, or for the "
                        f"stress image {STRESS_NAME.format('N')} and with --whiteouts "
                        f"{STRESS_NAME.format('N-whiteouts')})")
    p.add_argument("--layers", type=int, metavar="N",
                   help=f"write the stress image with N layers (1..{MAX_LAYERS}) instead of the "
                        "sample image")
    p.add_argument("--whiteouts", action="store_true",
                   help="stress image: every layer > 0 whites out a file and a directory of the "
                        "layer before and re-creates an opaque directory")
    p.add_argument("--files-per-layer", type=int, default=4, metavar="K",
                   help="stress image: K plain files per layer (default 4)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--gzip", dest="gzip", action="store_true", default=True,
                   help="gzip the layers (default)")
    g.add_argument("--no-gzip", dest="gzip", action="store_false",
                   help="uncompressed layers (media type ...layer.v1.tar)")
    p.add_argument("--arch", default=host_arch(),
                   help=f"the config's architecture (default the host's: {host_arch()})")
    p.add_argument("--expect-tree", metavar="DIR",
                   help="also write the rootfs that unpacking the image must give into DIR "
                        "(owners need root)")
    args = p.parse_args(argv)

    if args.layers is None:
        if args.whiteouts:
            p.error("--whiteouts needs --layers N")
        layers = sample_layers()
        description = "strata sample image"
        name = args.name or DEFAULT_NAME
    else:
        if not 1 <= args.layers <= MAX_LAYERS:
            p.error(f"--layers must be between 1 and {MAX_LAYERS}")
        if args.files_per_layer < 0:
            p.error("--files-per-layer must not be negative")
        layers = stress_layers(args.layers, args.whiteouts, args.files_per_layer)
        description = (f"strata stress image: {args.layers} layers, "
                       f"{args.files_per_layer} files per layer"
                       + (", whiteouts and opaque directories" if args.whiteouts else ""))
        name = args.name or STRESS_NAME.format(
            f"{args.layers}-whiteouts" if args.whiteouts else args.layers)

    layout, manifest, raws = build(layers, name, args.arch, args.gzip, description)
    try:
        if args.tar:
            if os.path.isdir(args.out):
                fail(f"{args.out} is a directory; --tar writes a file")
            layout.write_tar(args.out)
        else:
            if os.path.lexists(args.out) and (not os.path.isdir(args.out) or os.listdir(args.out)):
                fail(f"{args.out} exists and is not an empty directory")
            layout.write_dir(args.out)
        if args.expect_tree:
            expect_tree(args.expect_tree, raws)
    except OSError as e:
        fail(str(e))
    print(f"{name} {manifest['digest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
