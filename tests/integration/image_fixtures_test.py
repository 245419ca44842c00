"""The image fixtures: scripts/make-sample-image.py and tests/images/interop/make-umoci-image.py.

- The generator is deterministic (a second run, as a tar, gives the same digests and the same
  files) and its --expect-tree is the rootfs `umoci raw unpack` makes of its layout (compared
  with tests/support's tree-digest, file mtimes included), for the sample image and for the
  100-layer whiteout stress image.
- The layouts umoci and skopeo write (directory and oci-archive tar) and the generator's are
  imported by a real stratad (content and images plugins) and `strata image ls --json` shows
  each with its layer count.
- When the diff service and the walking differ are built, the imported layers are applied in
  order with `strata diff apply` and the result is compared with umoci's rootfs.
"""

import difflib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import unittest

import harness as h

STRESS_LAYERS = 100


def source_path(*parts):
    root = h.env_path("SOURCE_ROOT", "the source tree")
    path = os.path.join(root, *parts)
    if not os.path.isfile(path):
        h.unavailable(f"{path} is missing")
    return path


def make_sample(test, out, *args):
    """Runs make-sample-image.py OUT ARGS...; (name, manifest digest) it printed."""
    proc = h.run([sys.executable, source_path("scripts", "make-sample-image.py"), out, *args],
                 timeout=120)
    test.assertEqual(proc.returncode, 0, h.describe(proc))
    name, digest = proc.stdout.split()
    return name, digest


def tree_digest(test, path, *options):
    proc = h.run([h.env_path("TREE_DIGEST", "the tree-digest command of tests/support"),
                  *options, path])
    test.assertEqual(proc.returncode, 0, h.describe(proc))
    return proc.stdout.strip()


def assert_same_tree(test, expected, actual, what):
    """Same tree digest (file mtimes included); on a difference, the listings' diff."""
    if tree_digest(test, expected, "--mtime") == tree_digest(test, actual, "--mtime"):
        return
    diff = difflib.unified_diff(tree_digest(test, expected, "--mtime", "--list").splitlines(),
                                tree_digest(test, actual, "--mtime", "--list").splitlines(),
                                expected, actual, lineterm="")
    test.fail(f"{what}: the trees differ\n" + "\n".join(diff))


def listing(test, path):
    """{relative path: listing line} of tree-digest --list."""
    lines = tree_digest(test, path, "--list").splitlines()
    return {line.split(" ", 1)[0]: line for line in lines}


def read_json(path):
    with open(path, "rb") as f:
        return json.load(f)


def layout_files(directory):
    out = {}
    for dirpath, _, filenames in os.walk(directory):
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, directory)] = f.read()
    return out


def tar_files(path):
    with tarfile.open(path) as t:
        return {m.name.removeprefix("./"): t.extractfile(m).read() for m in t if m.isfile()}


class SampleImageTest(unittest.TestCase):
    """make-sample-image.py against itself and against umoci."""

    def setUp(self):
        self.workdir = h.make_workdir(self)

    def generate_and_compare(self, label, *args):
        """Writes the image twice (directory with --expect-tree, then tar), checks both are the
        same bytes and that umoci unpacks the layout to the expected tree; the layout's path,
        the expected tree's path and the image name."""
        layout = os.path.join(self.workdir, label)
        expected = os.path.join(self.workdir, label + "-expected")
        name, digest = make_sample(self, layout, *args, "--expect-tree", expected)
        tar = os.path.join(self.workdir, label + ".tar")
        again = make_sample(self, tar, *args, "--tar")
        self.assertEqual(again, (name, digest), "same arguments, other digests")
        self.assertEqual(tar_files(tar), layout_files(layout), "the tar holds other bytes")

        index = read_json(os.path.join(layout, "index.json"))
        entry, = index["manifests"]
        self.assertEqual(entry["digest"], digest)
        self.assertEqual(entry["annotations"], {"io.containerd.image.name": name,
                                                "org.opencontainers.image.ref.name": name})

        unpacked = os.path.join(self.workdir, label + "-umoci")
        proc = h.run([h.program("umoci"), "raw", "unpack", "--image", f"{layout}:{name}", unpacked],
                     timeout=120)
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        assert_same_tree(self, expected, unpacked, f"--expect-tree vs umoci raw unpack ({label})")
        return layout, expected, name

    def test_sample_image(self):
        layout, expected, name = self.generate_and_compare("sample")
        self.assertEqual(name, "localhost/strata/sample:latest")
        entries = listing(self, expected)
        self.assertNotIn("etc/motd", entries)  # whited out by layer 2
        self.assertNotIn("var/cache/sample/stale", entries)
        self.assertIn("var/cache/sample/keep", entries)
        self.assertEqual(sorted(p for p in entries if p.startswith("opt/data/")),
                         ["opt/data/c"])  # opaque in layer 2
        self.assertIn("link=bin/hello", entries["bin/hello-again"])
        self.assertIn("-> /bin/hello", entries["usr/bin/hello"])
        self.assertIn("mode=40750 owner=1000:1000", entries["home/sample"])
        self.assertIn("mode=104755", entries["usr/libexec/sample-helper"])
        self.assertIn("xattr:user.strata.sample=", entries["etc/os-release"])
        with open(os.path.join(expected, "etc/os-release"), encoding="utf-8") as f:
            self.assertIn('NAME="strata sample"', f.read())

        # Config: one diff_id per layer, each the digest of the uncompressed layer, which is
        # what --no-gzip stores as the layer blob.
        manifest_digest = read_json(os.path.join(layout, "index.json"))["manifests"][0]["digest"]
        manifest = read_json(os.path.join(layout, "blobs/sha256", manifest_digest[7:]))
        config = read_json(os.path.join(layout, "blobs/sha256", manifest["config"]["digest"][7:]))
        self.assertEqual(config["os"], "linux")
        self.assertEqual(len(config["rootfs"]["diff_ids"]), 3)
        plain = os.path.join(self.workdir, "plain")
        _, plain_digest = make_sample(self, plain, "--no-gzip")
        self.assertNotEqual(plain_digest, manifest_digest)
        plain_manifest = read_json(os.path.join(plain, "blobs/sha256", plain_digest[7:]))
        self.assertEqual([l["digest"] for l in plain_manifest["layers"]],
                         config["rootfs"]["diff_ids"])

    def test_stress_image_with_whiteouts(self):
        _, expected, name = self.generate_and_compare(
            "stress", "--layers", str(STRESS_LAYERS), "--whiteouts")
        last = f"{STRESS_LAYERS - 1:03d}"
        self.assertEqual(name, f"localhost/strata/stress:{STRESS_LAYERS}-whiteouts")
        stress = os.path.join(expected, "stress")
        names = os.listdir(stress)
        self.assertEqual(sorted(n for n in names if n.startswith("gone-")), [f"gone-{last}"])
        self.assertEqual(sorted(n for n in names if n.startswith("dir-")), [f"dir-{last}"])
        self.assertEqual(os.listdir(os.path.join(stress, "opaque")), [f"from-{last}"])
        self.assertEqual(len([n for n in names if n.startswith("f")]), STRESS_LAYERS * 4)
        with open(os.path.join(stress, "counter"), encoding="utf-8") as f:
            self.assertEqual(f.read(), f"{STRESS_LAYERS - 1}\n")


class InteropImagesTest(unittest.TestCase):
    """Layouts by umoci and skopeo (built once for the class), and the generator's, in a real
    stratad."""

    @classmethod
    def setUpClass(cls):
        cls.out = tempfile.mkdtemp(prefix="strata-interop-")
        cls.built = None

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.out, True)

    def interop(self):
        """OUT of make-umoci-image.py and its summary.json, built on first use."""
        h.program("umoci")
        h.program("skopeo")
        if os.geteuid() != 0:
            h.unavailable("make-umoci-image.py needs root (owners, trusted.* xattrs)")
        cls = type(self)
        if cls.built is None:
            out = os.path.join(cls.out, "interop")
            proc = h.run([sys.executable, source_path("tests", "images", "interop",
                                                      "make-umoci-image.py"), out], timeout=120)
            self.assertEqual(proc.returncode, 0, h.describe(proc))
            cls.built = (out, read_json(os.path.join(out, "summary.json")))
        return cls.built

    def start_daemon(self, with_diff=False):
        self.workdir = h.make_workdir(self)
        plugins = os.path.join(self.workdir, "plugins")
        required = ["strata.content.v1.content", "strata.service.v1.images"]
        envs = ["CONTENT_PLUGIN", "IMAGES_PLUGIN"]
        if with_diff:
            required.append("strata.service.v1.diff")
            envs += ["DIFF_SERVICE_PLUGIN", "WALKING_PLUGIN"]
        for env in envs:
            h.install_plugin(h.env_path(env, "a built plugin"), plugins)
        config = h.write_config(os.path.join(self.workdir, "config.toml"), required=required)
        self.daemon = h.Daemon(self, self.workdir, plugin_dirs=[plugins], config=config).start()
        self.daemon.wait_ready()

    def strata(self, *args, expect=0):
        return h.checked_cli(self, self.daemon, *args, expect=expect)

    def images(self):
        """{name: image record} of `strata image ls --json`."""
        return {i["name"]: i for i in json.loads(self.strata("image", "ls", "--json").stdout)}

    def test_reference_rootfs_covers_every_case(self):
        out, summary = self.interop()
        self.assertEqual(summary["umoci"]["interop"]["layers"], 5)
        self.assertEqual(summary["umoci"]["interop-insert"]["layers"], 7)
        self.assertEqual(summary["skopeo"]["interop"]["manifest"],
                         summary["umoci"]["interop"]["manifest"],
                         "skopeo copy between layouts keeps the manifest")
        reference = os.path.join(out, "rootfs-interop")
        assert_same_tree(self, reference, os.path.join(out, "rootfs-skopeo"),
                         "umoci's and skopeo's layouts")
        e = listing(self, reference)
        for gone in ("etc/remove-me", "old", "secret", "data/latest", "opt/app/v1", "opt/app/lib"):
            self.assertNotIn(gone, e)
        self.assertEqual(sorted(p for p in e if p.startswith("opt/app/")), ["opt/app/v2"])
        self.assertRegex(e["cache"], r"mode=100644 .* size=20 ")  # a directory turned file
        self.assertIn("mode=104755", e["bin/suid"])
        self.assertIn("mode=102755", e["bin/sgid"])
        self.assertIn("mode=100700", e["bin/tool"])
        self.assertIn("mode=41777", e["tmp"])
        self.assertIn("mode=40750 owner=1234:5678", e["owned"])
        self.assertIn("mode=104750 owner=1234:5678", e["owned/setuid-user"])
        self.assertIn("owner=1234:5678 -> /etc/hostname", e["abs-link"])
        self.assertIn("-> does/not/exist", e["dangling"])
        self.assertIn("link=data/big", e["data/big.link"])
        self.assertIn("link=data/big", e["data/big.link2"])
        self.assertIn("mode=10600", e["run/fifo"])
        self.assertIn("xattr:trusted.interop.secret=", e["etc/hostname"])
        self.assertIn("xattr:user.interop.note=", e["etc/hostname"])
        insert = listing(self, os.path.join(out, "rootfs-insert"))
        self.assertNotIn("etc/hostname", insert)
        self.assertEqual(sorted(p for p in insert if p.startswith("opt/app/")), ["opt/app/v3"])

    def assert_listed(self, want):
        """`strata image ls --json` lists exactly the names of `want`, each with its manifest
        digest and layer count: {name: (digest, layers)}."""
        images = self.images()
        self.assertEqual(sorted(images), sorted(want))
        for name, (digest, layers) in want.items():
            record = images[name]
            self.assertEqual(record["target"]["digest"], digest, name)
            self.assertEqual(len(record["resolved"]["layers"]), layers, name)
            self.assertEqual(len(record["resolved"]["diffIds"]), layers, name)
        return images

    def test_import_umoci_and_skopeo_layouts(self):
        out, summary = self.interop()
        self.start_daemon()
        imported = json.loads(self.strata("image", "import", os.path.join(out, "umoci"),
                                          "--json").stdout)
        self.assertEqual(sorted(i["name"] for i in imported), ["interop", "interop-insert"])
        self.strata("image", "import", os.path.join(out, "skopeo"), "--name",
                    "localhost/interop/skopeo:dir")
        self.strata("image", "import", os.path.join(out, "skopeo.tar"), "--name",
                    "localhost/interop/skopeo:archive")
        self.assert_listed({
            "interop": (summary["umoci"]["interop"]["manifest"], 5),
            "interop-insert": (summary["umoci"]["interop-insert"]["manifest"], 7),
            "localhost/interop/skopeo:dir": (summary["skopeo"]["interop"]["manifest"], 5),
            "localhost/interop/skopeo:archive": (summary["skopeo"]["interop"]["manifest"], 5),
        })

    def test_import_generated_layouts(self):
        self.start_daemon()
        sample = os.path.join(self.workdir, "sample.tar")
        sample_name, sample_digest = make_sample(self, sample, "--tar")
        stress = os.path.join(self.workdir, "stress")
        stress_name, stress_digest = make_sample(self, stress, "--layers", str(STRESS_LAYERS),
                                                 "--whiteouts", "--no-gzip")
        self.strata("image", "import", sample)
        self.strata("image", "import", stress)
        images = self.assert_listed({sample_name: (sample_digest, 3),
                                     stress_name: (stress_digest, STRESS_LAYERS)})
        self.assertEqual({l["mediaType"] for l in images[stress_name]["resolved"]["layers"]},
                         {"application/vnd.oci.image.layer.v1.tar"})
        self.assertEqual({l["mediaType"] for l in images[sample_name]["resolved"]["layers"]},
                         {"application/vnd.oci.image.layer.v1.tar+gzip"})

    def apply_in_order(self, name, target):
        """`strata diff apply` of every layer of image `name`, bottom first, onto `target`."""
        record = json.loads(self.strata("image", "inspect", name).stdout)["resolved"]
        os.makedirs(target)
        for layer, diff_id in zip(record["layers"], record["diffIds"]):
            self.strata("diff", "apply", "--media-type", layer["mediaType"], "--diff-id", diff_id,
                        layer["digest"], target)

    def test_layers_applied_in_order_match_umoci(self):
        if not (os.environ.get("DIFF_SERVICE_PLUGIN") and os.environ.get("WALKING_PLUGIN")):
            self.skipTest("the diff service and the walking differ are not part of this build")
        out, _ = self.interop()
        self.start_daemon(with_diff=True)
        self.strata("image", "import", os.path.join(out, "umoci"))
        applied = os.path.join(self.workdir, "applied-interop")
        self.apply_in_order("interop", applied)
        assert_same_tree(self, os.path.join(out, "rootfs-interop"), applied,
                         "umoci raw unpack vs strata diff apply of each layer (interop)")

        sample = os.path.join(self.workdir, "sample")
        expected = os.path.join(self.workdir, "sample-expected")
        name, _ = make_sample(self, sample, "--expect-tree", expected)
        self.strata("image", "import", sample)
        applied = os.path.join(self.workdir, "applied-sample")
        self.apply_in_order(name, applied)
        assert_same_tree(self, expected, applied,
                         "--expect-tree vs strata diff apply of each layer (sample)")


if __name__ == "__main__":
    unittest.main()
