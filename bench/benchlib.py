"""What the benchmark scripts share: the build they measure and the file system they write to."""
import hashlib
import json
import os
import stat
import subprocess

# File systems that would measure memory or a network instead of a disk.
UNSUITABLE_FS = {"tmpfs", "overlayfs", "ramfs", "squashfs", "fuseblk", "nfs"}


def fs_type(path):
    """The type of the file system holding `path` ("ext4", "xfs", "tmpfs", ...)."""
    # findmnt names ext4 as such; `stat -f` says ext2/ext3 for all three.
    p = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "-T", path], capture_output=True,
                       text=True)
    if p.returncode == 0 and p.stdout.strip():
        return p.stdout.strip()
    return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True, text=True,
                          check=True).stdout.strip()


def build_type(build_dir):
    """meson's buildtype of `build_dir` ("debugoptimized", ...), or "unknown"."""
    try:
        with open(os.path.join(build_dir, "meson-info", "intro-buildoptions.json")) as f:
            for opt in json.load(f):
                if opt["name"] == "buildtype":
                    return opt["value"]
    except OSError:
        pass
    return "unknown"


def xattrs_of(path):
    """{name: value} of the xattrs of `path` (not followed), without overlayfs' own."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for n in sorted(names):
        if n.startswith("trusted.overlay.") or n.startswith("user.overlay."):
            continue
        try:
            out[n] = os.getxattr(path, n, follow_symlinks=False).hex()
        except OSError:
            pass
    return out


def tree_records(roots, contents=False):
    """{relative path: what a tree comparison looks at} over one or more roots (overlay layers
    count as one tree): mode, owner, xattrs, symlink target, and for files size, mtime and
    either the link count or, with `contents`, a SHA-256 of the bytes and the group of names
    sharing the inode (inode numbers differ between two extractions, names do not)."""
    out = {}
    inodes = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for n in dirnames + filenames:
                p = os.path.join(dirpath, n)
                rel = os.path.relpath(p, root)
                st = os.lstat(p)
                rec = {"mode": oct(st.st_mode), "uid": st.st_uid, "gid": st.st_gid}
                xattrs = xattrs_of(p)
                if xattrs:
                    rec["xattrs"] = xattrs
                if stat.S_ISLNK(st.st_mode):
                    rec["target"] = os.readlink(p)
                elif stat.S_ISREG(st.st_mode):
                    rec.update(size=st.st_size, mtime=st.st_mtime_ns)
                    if contents:
                        with open(p, "rb") as f:
                            rec["sha256"] = hashlib.sha256(f.read()).hexdigest()
                        inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
                    else:
                        rec["nlink"] = st.st_nlink
                out[rel] = rec
    for names in inodes.values():
        for n in names:
            out[n]["links"] = sorted(names)
    return out


def tree_differences(tree, reference):
    """The paths whose records differ (or that only one side has), sorted."""
    return [k for k in sorted(set(tree) | set(reference)) if tree.get(k) != reference.get(k)]
