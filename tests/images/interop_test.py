"""Interop: images built by other tools unpack into the same tree those tools produce.

tests/images/interop/make-umoci-image.py builds an image with umoci (file, directory and symlink
whiteouts, an opaque directory, hardlinks within and across layers, xattrs, setuid/setgid modes,
owners, a fifo, a directory replaced by a file), copies it with `skopeo copy` to a directory
layout and an oci-archive tar, and unpacks it with `umoci raw unpack` as the reference. Each copy
is imported into a real stratad, unpacked into overlayfs in parallel and sequentially, mounted
with `strata image mount`, and compared with the reference by tree-digest (contents, modes,
owners, links, xattrs, file mtimes).
"""

import difflib
import os
import shutil
import tempfile
import unittest

import stack as s
from stack import h

DIGEST_OPTIONS = ["--mtime", "--exclude-xattr", "trusted.overlay.", "--skip-whiteouts"]


class InteropTest(unittest.TestCase):
    fixtures = None

    @classmethod
    def setUpClass(cls):
        cls.fixture_dir = tempfile.mkdtemp(prefix="strata-interop-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.fixture_dir, ignore_errors=True)

    def build_fixtures(self):
        """OUT of make-umoci-image.py, built once for the class."""
        return s.umoci_fixtures(self, os.path.join(self.fixture_dir, "out"))

    def setUp(self):
        s.need_root()
        self.out = self.build_fixtures()
        self.workdir = h.make_workdir(self)
        self.stack = s.Stack(self, self.workdir).start()
        self.mnt = os.path.join(self.workdir, "mnt")
        os.mkdir(self.mnt)
        self.addCleanup(s.unmount_quietly, self.mnt)

    def assert_unpacks_like_umoci(self, name, reference, *unpack_args):
        result = self.stack.strata_json("image", "unpack", name, *unpack_args, timeout=300)
        self.stack.strata("image", "mount", name, self.mnt)
        try:
            got = s.tree_digest(self, self.mnt, *DIGEST_OPTIONS)
            want = s.tree_digest(self, reference, *DIGEST_OPTIONS)
            if got != want:
                diff = difflib.unified_diff(
                    s.tree_digest(self, reference, *DIGEST_OPTIONS, "--list").splitlines(),
                    s.tree_digest(self, self.mnt, *DIGEST_OPTIONS, "--list").splitlines(),
                    "umoci raw unpack", f"strata unpack {' '.join(unpack_args)}", lineterm="")
                self.fail(f"{name}: the unpacked tree differs from umoci's:\n" + "\n".join(diff))
        finally:
            self.stack.strata("image", "unmount", self.mnt)
        self.stack.remove_all_snapshots()
        return result

    def test_umoci_image_parallel_and_sequential(self):
        self.stack.strata("image", "import", os.path.join(self.out, "umoci"))
        reference = os.path.join(self.out, "rootfs-interop")
        parallel = self.assert_unpacks_like_umoci("interop", reference)
        self.assertTrue(parallel["parallel"])
        self.assertEqual(len(parallel["layers"]), 5)
        sequential = self.assert_unpacks_like_umoci("interop", reference, "--sequential")
        self.assertEqual(sequential["chainId"], parallel["chainId"])

    def test_skopeo_copies_directory_and_archive(self):
        reference = os.path.join(self.out, "rootfs-skopeo")
        self.stack.strata("image", "import", os.path.join(self.out, "skopeo"), "--name",
                          "skopeo/dir:interop")
        self.stack.strata("image", "import", os.path.join(self.out, "skopeo.tar"), "--name",
                          "skopeo/archive:interop")
        self.assert_unpacks_like_umoci("skopeo/dir:interop", reference)
        self.assert_unpacks_like_umoci("skopeo/archive:interop", reference, "--sync-fs")


if __name__ == "__main__":
    unittest.main(verbosity=2)
