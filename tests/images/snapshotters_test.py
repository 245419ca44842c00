"""Every local snapshotter unpacks an image to the same tree.

The sample image (scripts/make-sample-image.py: whiteouts, opaque directories, hardlinks, xattrs,
devices, set-id modes) and the umoci-made interop image (tests/images/interop) are imported into
one stratad that loads the overlayfs, native and blockfile snapshotters, unpacked into each with
`strata image unpack --snapshotter ID`, mounted with `strata image mount --snapshotter ID` and
compared by tree-digest with the overlayfs unpack and with the tree the image should give. Native
and blockfile do not advertise rebase, so their unpacks are sequential.
"""

import os
import shutil
import tempfile
import unittest

import stack as s
from stack import h

DIGEST_OPTIONS = ["--mtime", "--exclude-xattr", "trusted.overlay.", "--skip-whiteouts"]
MORE_PLUGINS = {"NATIVE_PLUGIN": ("strata-snapshotter-native.so", "strata.snapshotter.v1.native")}
SNAPSHOTTERS = ["overlayfs", "native"]
EXTRA_CONFIG = ""
if os.environ.get("BLOCKFILE_PLUGIN"):
    MORE_PLUGINS["BLOCKFILE_PLUGIN"] = ("strata-snapshotter-blockfile.so",
                                        "strata.snapshotter.v1.blockfile")
    SNAPSHOTTERS.append("blockfile")
    EXTRA_CONFIG = """
[plugins."strata.snapshotter.v1.blockfile"]
fs_type = "ext4"
size = "64MiB"
"""


class SnapshottersTest(unittest.TestCase):
    fixture_dir = None

    @classmethod
    def setUpClass(cls):
        cls.fixture_dir = tempfile.mkdtemp(prefix="strata-snapshotters-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.fixture_dir, ignore_errors=True)

    def setUp(self):
        s.need_root()
        self.workdir = h.make_workdir(self)
        self.stack = s.Stack(self, self.workdir, extra_config=EXTRA_CONFIG,
                             more_plugins=MORE_PLUGINS).start()
        self.mnt = os.path.join(self.workdir, "mnt")
        os.mkdir(self.mnt)
        self.addCleanup(self.assert_no_loops)
        self.addCleanup(s.unmount_quietly, self.mnt)

    def assert_no_loops(self):
        """Blockfile's mounts attach loop devices; every one must be gone with its unmount."""
        self.stack.daemon.terminate()
        left = s.loops_below(self.workdir)
        self.assertEqual(left, [], "loop devices left attached")

    def unpacked_digest(self, name, snapshotter):
        result = self.stack.strata_json("image", "unpack", name, "--snapshotter", snapshotter,
                                        timeout=600)
        self.assertTrue(all(layer["applied"] for layer in result["layers"]), result)
        if snapshotter != "overlayfs":
            self.assertFalse(result["parallel"], f"{snapshotter} has no rebase: sequential")
        self.stack.strata("image", "mount", name, self.mnt, "--snapshotter", snapshotter)
        try:
            return s.tree_digest(self, self.mnt, *DIGEST_OPTIONS)
        finally:
            self.stack.strata("image", "unmount", self.mnt, "--snapshotter", snapshotter)

    def assert_same_tree_everywhere(self, name, expect):
        want = s.tree_digest(self, expect, *DIGEST_OPTIONS)
        for snapshotter in SNAPSHOTTERS:
            with self.subTest(snapshotter=snapshotter):
                self.assertEqual(self.unpacked_digest(name, snapshotter), want,
                                 f"{name} unpacked onto {snapshotter} differs from the expected "
                                 "tree (run tree-digest --list on both to see where)")
                self.stack.remove_all_snapshots(snapshotter)

    def test_sample_image_on_every_snapshotter(self):
        layout = os.path.join(self.workdir, "layout")
        expect = layout + "-tree"
        s.sample_image(self, layout, "--name", "strata.test/sample:1", "--expect-tree", expect)
        self.stack.strata("image", "import", layout)
        self.assert_same_tree_everywhere("strata.test/sample:1", expect)

    def test_umoci_image_on_every_snapshotter(self):
        out = s.umoci_fixtures(self, os.path.join(self.fixture_dir, "out"))
        self.stack.strata("image", "import", os.path.join(out, "umoci"))
        self.assert_same_tree_everywhere("interop", os.path.join(out, "rootfs-interop"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
