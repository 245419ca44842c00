"""What the benchmark scripts share: the build they measure and the file system they write to."""
import json
import os
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
