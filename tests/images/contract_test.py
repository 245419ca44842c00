"""The apply contract of strata/plugin/differ.hpp, honoured by a differ built like a third-party
one: tests/fixtures/tar_differ.cpp (fixture-tar-differ.so: SDK headers and libarchive only)
first in the diff service's order, before walking, in a real stratad unpacking in parallel.

Covers: a parallel unpack of plain-tar layers where one layer hardlinks a file of a lower layer
(the fixture answers NeedsParent for its parentless apply and applies it again onto the overlay
of its committed parent), whiteouts and an opaque directory kept as markers by the parentless
applies, the tree right in both modes; ApplyOptions::sync_fs reaching the differ with
--sync-fs; a missing blob (NotFound) failing the unpack without a retry on the parent; the
sample image's whole tree.
"""

import hashlib
import os
import re
import tarfile
import unittest

import stack as s
from stack import h
from unpack_test import DIGEST_OPTIONS, tar_entry, write_layout

DIFF_ORDER = ('[plugins."strata.service.v1.diff"]\n'
              'default = ["fixture-tar", "walking"]\n')


class ContractTest(unittest.TestCase):
    def setUp(self):
        self.workdir = h.make_workdir(self)
        self.stack = s.Stack(self, self.workdir, extra_config=DIFF_ORDER)
        h.install_plugin(h.env_path("FIXTURE_TAR_DIFFER", "the built fixture-tar-differ.so"),
                         self.stack.plugins)
        self.stack.start()
        self.mnt = os.path.join(self.workdir, "mnt")
        os.mkdir(self.mnt)
        self.addCleanup(s.unmount_quietly, self.mnt)

    def strata(self, *args, **kw):
        return self.stack.strata(*args, **kw)

    def applies(self, digest):
        """The fixture's log lines about layer `digest`: (target, mount type, outcome)."""
        pattern = re.compile(r"^fixture-tar: layer " + re.escape(digest) +
                             r" target (\S+) onto (\w+)( with sync_fs)?: (.*)$", re.M)
        return [(m[1], m[2] + (m[3] or ""), m[4].split(":")[0])
                for m in pattern.finditer(self.stack.daemon.stderr())]

    def tree(self, name):
        self.strata("image", "mount", name, self.mnt)
        try:
            out = {}
            for d, dirs, files in os.walk(self.mnt):
                for n in dirs + files:
                    p = os.path.join(d, n)
                    st = os.lstat(p)
                    rel = os.path.relpath(p, self.mnt)
                    data = None
                    if os.path.isfile(p) and not os.path.islink(p):
                        with open(p, "rb") as f:
                            data = f.read()
                    out[rel] = (st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_ino, data)
            return out
        finally:
            self.strata("image", "unmount", self.mnt)

    def assert_no_active(self):
        self.assertEqual(self.stack.actives(), [], "active snapshots left behind")

    def test_fixture_is_a_capable_differ_and_the_service_says_so(self):
        records = {r["type"] + "." + r["id"]: r for r in h.plugins_json(self, self.stack.daemon)}
        fixture = records["strata.differ.v1.fixture-tar"]
        self.assertEqual(fixture["status"], "ok", fixture)
        self.assertIn("apply-unknown-lowers", fixture["capabilities"])
        service = records["strata.service.v1.diff"]
        self.assertEqual(service["exports"]["order"], "fixture-tar,walking")
        self.assertIn("apply-unknown-lowers", service["capabilities"])

    def write_image(self, name):
        D, F, L = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.LNKTYPE
        layers = [
            [(tar_entry("data", D, 0o750, uid=1234, gid=5678), None),
             (tar_entry("data/a", F, 0o4750, uid=1234, gid=5678), b"from layer 0\n"),
             (tar_entry("gone"), b"x"), (tar_entry("d", D, 0o755), None),
             (tar_entry("d/old"), b"old")],
            # Needs its parent: both links name a file only layer 0 holds.
            [(tar_entry("b", L, link="data/a"), None),
             (tar_entry("lib", D, 0o755), None), (tar_entry("lib/c", L, link="data/a"), None)],
            # Parentless: a whiteout marker at the root, an opaque directory of its own.
            [(tar_entry(".wh.gone"), b""), (tar_entry("d", D, 0o711), None),
             (tar_entry("d/.wh..wh..opq"), b""), (tar_entry("d/new"), b"new")],
            [(tar_entry("x", D, 0o755), None), (tar_entry("x/y", F, 0o600, uid=7), b"y")],
        ]
        layout = os.path.join(self.workdir, "layout-" + hashlib.sha1(name.encode()).hexdigest())
        digests = write_layout(layout, name, layers, gzip_layers=False)
        self.strata("image", "import", layout)
        return digests

    def assert_tree(self, name):
        t = self.tree(name)
        self.assertEqual(sorted(t), ["b", "d", "d/new", "data", "data/a", "lib", "lib/c", "x",
                                     "x/y"])
        a, b, c = t["data/a"], t["b"], t["lib/c"]
        self.assertEqual(a[:3], (0o4750, 1234, 5678))
        self.assertEqual(a[4], b"from layer 0\n")
        self.assertEqual(a[3], b[3], "b is a hardlink of data/a")
        self.assertEqual(a[3], c[3], "lib/c is a hardlink of data/a")
        self.assertEqual(t["data"][:3], (0o750, 1234, 5678))
        self.assertEqual(t["d"][0], 0o711)
        self.assertEqual(t["d/new"][4], b"new")
        self.assertEqual(t["x/y"][:3], (0o600, 7, 0))

    def test_parallel_unpack_with_a_layer_that_needs_its_parent(self):
        name = "strata.test/contract:1"
        digests = self.write_image(name)
        result = self.stack.strata_json("image", "unpack", name)
        self.assertTrue(result["parallel"], result)
        self.assertTrue(all(l["applied"] for l in result["layers"]), result)
        self.assert_no_active()
        self.assert_tree(name)
        # Every layer went through the fixture (the diff service stops at the first differ that
        # does not say NotImplemented), with the target the contract prescribes.
        self.assertEqual(self.applies(digests[0]), [("mounts", "bind", "applied")])
        self.assertEqual(self.applies(digests[1]),
                         [("upperdir-unknown-lowers", "bind", "NeedsParent"),
                          ("mounts", "overlay", "applied")])
        for d in digests[2:]:
            self.assertEqual(self.applies(d), [("upperdir-unknown-lowers", "bind", "applied")])

        # Sequential, synced: the same tree, every apply in order onto its parent, each synced
        # by the differ (ApplyOptions::sync_fs) before its commit.
        self.stack.remove_all_snapshots()
        result = self.stack.strata_json("image", "unpack", name, "--sequential", "--sync-fs")
        self.assertFalse(result["parallel"], result)
        self.assertTrue(result["syncFs"], result)
        self.assert_tree(name)
        self.assertEqual(self.applies(digests[0])[-1], ("mounts", "bind with sync_fs", "applied"))
        for d in digests[1:]:
            self.assertEqual(self.applies(d)[-1], ("mounts", "overlay with sync_fs", "applied"))

    def test_missing_blob_fails_the_unpack_without_a_retry(self):
        # NotFound from apply means the blob is gone, not "retry on the parent": the parallel
        # unpack stops before any commit instead of committing the layers below and trying again.
        name = "strata.test/missing-blob:1"
        digests = self.write_image(name)
        self.strata("content", "rm", digests[2])
        proc = self.strata("image", "unpack", name, expect=1)
        self.assertIn("NotFound", proc.stderr)
        self.assertIn(digests[2], proc.stderr)
        self.assert_no_active()
        self.assertEqual(self.stack.committed(), [],
                         "no layer is committed for a retry on the parent")

    def test_sample_image_tree(self):
        name = "strata.test/sample-plain:1"
        layout = os.path.join(self.workdir, "layout-sample")
        expect = layout + "-tree"
        s.sample_image(self, layout, "--name", name, "--no-gzip", "--expect-tree", expect)
        self.strata("image", "import", layout)
        result = self.stack.strata_json("image", "unpack", name)
        self.assertTrue(result["parallel"], result)
        self.strata("image", "mount", name, self.mnt)
        try:
            got = s.tree_digest(self, self.mnt, *DIGEST_OPTIONS)
        finally:
            self.strata("image", "unmount", self.mnt)
        self.assertEqual(got, s.tree_digest(self, expect, *DIGEST_OPTIONS))
        lines = re.findall(r"^fixture-tar: .*applied$", self.stack.daemon.stderr(), re.M)
        self.assertGreaterEqual(len(lines), 3, self.stack.daemon.stderr())


if __name__ == "__main__":
    unittest.main()
