"""Unpacking onto the blockfile snapshotter end to end: a real stratad with the content store,
images service, diff service, walking differ, overlay and blockfile snapshotters, driven by the
real CLI.

Covers: the sample image (scripts/make-sample-image.py) and the umoci-made interop image
(tests/images/interop) unpack onto blockfile (sequentially: it has no "rebase") into the same tree
as onto overlayfs and as their references; every layer is a committed image file; no loop device
backed by the test's files is left attached.
"""

import os
import shutil
import tempfile
import unittest

import stack as s
from stack import h

# As unpack_test.py and interop_test.py: overlay's own xattrs and whiteout devices left out.
DIGEST_OPTIONS = ["--mtime", "--exclude-xattr", "trusted.overlay.", "--skip-whiteouts"]
BLOCKFILE_CONFIG = """
[plugins."strata.snapshotter.v1.blockfile"]
size = "64MiB"
"""


def loops_below(directory):
    """Loop devices whose backing file lies below `directory` (losetup's view of /sys)."""
    out = []
    for name in os.listdir("/sys/block"):
        try:
            with open(f"/sys/block/{name}/loop/backing_file", encoding="utf-8") as f:
                backing = f.read().strip()
        except OSError:
            continue
        if backing.startswith(directory + "/"):
            out.append(f"/dev/{name} -> {backing}")
    return out


class BlockfileUnpackTest(unittest.TestCase):
    def setUp(self):
        self.workdir = h.make_workdir(self)
        self.stack = s.Stack(self, self.workdir, extra_config=BLOCKFILE_CONFIG)
        h.install_plugin(h.env_path("BLOCKFILE_PLUGIN", "the built strata-snapshotter-blockfile.so"),
                         self.stack.plugins)
        self.stack.start()
        self.mnt = os.path.join(self.workdir, "mnt")
        os.mkdir(self.mnt)
        self.addCleanup(self.assert_no_loops)
        self.addCleanup(s.unmount_quietly, self.mnt)

    def assert_no_loops(self):
        self.stack.daemon.terminate()
        self.assertEqual(loops_below(self.workdir), [], "loop devices left attached")

    def digest(self, name, snapshotter):
        self.stack.strata("image", "mount", name, self.mnt, "--snapshotter", snapshotter)
        try:
            return s.tree_digest(self, self.mnt, *DIGEST_OPTIONS)
        finally:
            self.stack.strata("image", "unmount", self.mnt)

    def unpack_both(self, name, reference):
        """Unpacks `name` onto blockfile and overlayfs; both mounted trees must equal
        `reference`'s."""
        result = self.stack.strata_json("image", "unpack", name, "--snapshotter", "blockfile",
                                        timeout=300)
        self.assertFalse(result["parallel"], "blockfile has no rebase: sequential only")
        self.assertTrue(all(l["applied"] for l in result["layers"]), result)
        images = os.listdir(os.path.join(self.stack.daemon.root, "strata.snapshotter.v1.blockfile",
                                         "snapshots"))
        self.assertEqual(len(images), len(result["layers"]), images)
        self.stack.strata("image", "unpack", name, "--snapshotter", "overlayfs", timeout=300)
        want = s.tree_digest(self, reference, *DIGEST_OPTIONS)
        self.assertEqual(self.digest(name, "blockfile"), want, "blockfile")
        self.assertEqual(self.digest(name, "overlayfs"), want, "overlayfs")

    def test_sample_image(self):
        layout = os.path.join(self.workdir, "sample")
        expect = layout + "-tree"
        s.sample_image(self, layout, "--name", "strata.test/sample:1", "--expect-tree", expect)
        self.stack.strata("image", "import", layout)
        self.unpack_both("strata.test/sample:1", expect)

    def test_umoci_interop_image(self):
        out = tempfile.mkdtemp(prefix="strata-blockfile-interop-")
        self.addCleanup(shutil.rmtree, out, True)
        s.umoci_fixtures(self, out)
        self.stack.strata("image", "import", os.path.join(out, "umoci"))
        self.unpack_both("interop", os.path.join(out, "rootfs-interop"))


if __name__ == "__main__":
    unittest.main()
