"""A real stratad with everything an unpack needs (content store, images service, diff service,
walking differ, overlay snapshotter), for the Python tests of tests/images.

Paths come from tests/images/meson.build: CONTENT_PLUGIN, IMAGES_PLUGIN, DIFF_SERVICE_PLUGIN,
WALKING_PLUGIN, OVERLAY_PLUGIN, TREE_DIGEST, SAMPLE_IMAGE (scripts/make-sample-image.py), plus
those harness.py reads.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "integration"))
import harness as h  # noqa: E402

PLUGINS = {
    "CONTENT_PLUGIN": "strata-content-content.so",
    "IMAGES_PLUGIN": "strata-service-images.so",
    "DIFF_SERVICE_PLUGIN": "strata-service-diff.so",
    "WALKING_PLUGIN": "strata-differ-walking.so",
    "OVERLAY_PLUGIN": "strata-snapshotter-overlayfs.so",
}
REQUIRED = ["strata.content.v1.content", "strata.service.v1.images", "strata.service.v1.diff",
            "strata.differ.v1.walking", "strata.snapshotter.v1.overlayfs"]
SNAPSHOTTER_URI = "strata.snapshotter.v1.overlayfs"


def need_root():
    if os.geteuid() != 0:
        h.unavailable("unpacking into overlayfs needs root (mounts, whiteout devices, owners)")


class Stack:
    """stratad on a private root under `workdir` with the five plugins, plus `more_plugins`
    ({env var: (file name, uri)}: each installed and required too)."""

    def __init__(self, test, workdir, root=None, extra_config="", more_plugins=None):
        need_root()
        self.test = test
        self.workdir = workdir
        self.plugins = os.path.join(workdir, "plugins")
        required = list(REQUIRED)
        for var, name in PLUGINS.items():
            h.install_plugin(h.env_path(var, "the built " + name), self.plugins)
        for var, (name, uri) in (more_plugins or {}).items():
            h.install_plugin(h.env_path(var, "the built " + name), self.plugins)
            required.append(uri)
        self.config = h.write_config(os.path.join(workdir, "config.toml"), required=required,
                                     extra=extra_config)
        self.root = root
        self.daemon = None

    def start(self):
        self.daemon = h.Daemon(self.test, self.workdir, plugin_dirs=[self.plugins],
                               config=self.config)
        if self.root:
            # Daemon already passes --root <workdir>/root, and stratad takes --root only once.
            self.daemon.argv[self.daemon.argv.index("--root") + 1] = self.root
            self.daemon.root = self.root
        self.daemon.start()
        self.daemon.wait_ready()
        return self

    @property
    def snapshotter_root(self):
        return os.path.join(self.root or self.daemon.root, SNAPSHOTTER_URI)

    def strata(self, *args, expect=0, timeout=h.COMMAND_TIMEOUT):
        return h.checked_cli(self.test, self.daemon, *args, expect=expect, timeout=timeout)

    def strata_json(self, *args, timeout=h.COMMAND_TIMEOUT):
        return json.loads(self.strata(*args, "--json", timeout=timeout).stdout)

    def snapshots(self, snapshotter="overlayfs"):
        return self.strata_json("snapshots", "--snapshotter", snapshotter, "ls")

    def actives(self):
        return [i["name"] for i in self.snapshots() if i["kind"] == "Active"]

    def committed(self):
        return sorted(i["name"] for i in self.snapshots() if i["kind"] == "Committed")

    def remove_all_snapshots(self, snapshotter="overlayfs"):
        """Removes every snapshot of `snapshotter`, children before parents."""
        infos = self.snapshots(snapshotter)
        while infos:
            parents = {i.get("parent") for i in infos}
            leaves = [i["name"] for i in infos if i["name"] not in parents]
            self.strata("snapshots", "--snapshotter", snapshotter, "rm", *leaves)
            infos = self.snapshots(snapshotter)


def sample_image(test, out, *args):
    """Runs scripts/make-sample-image.py OUT ARGS...; returns its stdout."""
    script = h.env_path("SAMPLE_IMAGE", "scripts/make-sample-image.py")
    proc = h.run([sys.executable, script, out, *args], timeout=300)
    test.assertEqual(proc.returncode, 0, h.describe(proc))
    return proc.stdout


def umoci_fixtures(test, out):
    """Runs tests/images/interop/make-umoci-image.py OUT (the umoci-made interop image, its skopeo
    copies and `umoci raw unpack` references) unless OUT already holds them; returns OUT."""
    if not os.path.isdir(os.path.join(out, "rootfs-interop")):
        script = os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "images", "interop",
                              "make-umoci-image.py")
        proc = h.run(["python3", script, out], timeout=300)
        if proc.returncode == 3:
            h.unavailable("umoci or skopeo is missing (scripts/setup.sh installs them): " +
                          proc.stderr.strip())
        test.assertEqual(proc.returncode, 0, h.describe(proc))
    return out


def loops_below(directory):
    """Loop devices (as "/dev/loopN -> FILE") whose backing file lies below `directory`."""
    out = []
    for name in sorted(os.listdir("/sys/block")):
        try:
            with open(f"/sys/block/{name}/loop/backing_file", encoding="utf-8") as f:
                backing = f.read().strip()
        except OSError:
            continue
        if backing.startswith(directory + "/"):
            out.append(f"/dev/{name} -> {backing}")
    return out


def tree_digest(test, directory, *options):
    """The tree-digest of `directory` (overlay whiteouts and xattrs left out)."""
    tool = h.env_path("TREE_DIGEST", "the built tree-digest tool (tests/support)")
    proc = h.run([tool, *options, directory])
    test.assertEqual(proc.returncode, 0, h.describe(proc))
    return proc.stdout.strip()


def mounted(path):
    with open("/proc/self/mountinfo", encoding="utf-8") as f:
        return any(line.split()[4] == path for line in f)


def unmount_quietly(path):
    subprocess.run(["umount", "-l", path], capture_output=True, check=False)
