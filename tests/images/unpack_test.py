"""`strata image unpack|mount|unmount` end to end: a real stratad with the content store, images
service, diff service, walking differ and overlay snapshotter, images made by
scripts/make-sample-image.py, trees compared with the tree-digest tool.

Covers: the unpacked and mounted tree equals the image's expected tree; parallel and sequential
unpacks give identical trees on a 100-layer image with whiteouts in every layer; a hardlink to a
file of an earlier layer (copied up into the upperdir) unpacks sequentially; existing chain
IDs are skipped and two concurrent unpacks both succeed with one set of snapshots; a wrong diff ID
fails and leaves no active snapshot; progress over HTTP as NDJSON; API errors; kill -9 in the
middle of an unpack, restart, unpack again, no orphans after cleanup; deleted files stay deleted
in both modes (whiteouts and opaque markers against the image spec's order rules).
"""

import gzip
import hashlib
import http.client
import io
import json
import os
import signal
import subprocess
import tarfile
import time
import unittest
import urllib.parse

import stack as s
from stack import h

# What the tree comparisons leave out: overlay's own xattrs and whiteout devices (a mounted
# overlay shows neither), and directory mtimes (creating children moves them).
DIGEST_OPTIONS = ["--exclude-xattr", "trusted.overlay.", "--skip-whiteouts"]


def image_path(name, suffix=""):
    return "/v1/images/" + urllib.parse.quote(name, safe="") + ("/" + suffix if suffix else "")


def write_layout(path, name, layers, gzip_layers=True):
    """A one-image OCI layout (linux/amd64) at `path` from `layers`: lists of (TarInfo, data or
    None), each list one gzip layer (a plain tar layer when not `gzip_layers`). Returns the
    layers' blob digests."""
    blobs = os.path.join(path, "blobs", "sha256")
    os.makedirs(blobs)

    def blob(media_type, data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    descs, diff_ids = [], []
    for entries in layers:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
            for info, data in entries:
                if data is not None:
                    info.size = len(data)
                t.addfile(info, io.BytesIO(data) if data is not None else None)
        raw = buf.getvalue()
        diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
        if gzip_layers:
            descs.append(blob("application/vnd.oci.image.layer.v1.tar+gzip",
                              gzip.compress(raw, mtime=0)))
        else:
            descs.append(blob("application/vnd.oci.image.layer.v1.tar", raw))
    config = blob("application/vnd.oci.image.config.v1+json", json.dumps(
        {"architecture": "amd64", "os": "linux",
         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode())
    manifest = blob("application/vnd.oci.image.manifest.v1+json", json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
         "config": config, "layers": descs}).encode())
    manifest["annotations"] = {"org.opencontainers.image.ref.name": name}
    with open(os.path.join(path, "oci-layout"), "w", encoding="utf-8") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(path, "index.json"), "w", encoding="utf-8") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest]}, f)
    return [d["digest"] for d in descs]


def tar_entry(name, kind=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.linkname = kind, mode, uid, gid, link
    info.mtime = 1700000000
    return info


class UnpackTest(unittest.TestCase):
    def setUp(self):
        self.workdir = h.make_workdir(self)
        self.stack = s.Stack(self, self.workdir).start()
        self.mnt = os.path.join(self.workdir, "mnt")
        os.mkdir(self.mnt)
        self.addCleanup(s.unmount_quietly, self.mnt)

    def strata(self, *args, **kw):
        return self.stack.strata(*args, **kw)

    def make_image(self, name, *args):
        """Builds and imports an image; returns the directory holding its expected tree."""
        layout = os.path.join(self.workdir, "layout-" + hashlib.sha1(name.encode()).hexdigest())
        expect = layout + "-tree"
        s.sample_image(self, layout, "--name", name, "--expect-tree", expect, *args)
        self.strata("image", "import", layout)
        return expect

    def mounted_digest(self, name, *mount_args):
        self.strata("image", "mount", name, self.mnt, *mount_args)
        try:
            return s.tree_digest(self, self.mnt, *DIGEST_OPTIONS)
        finally:
            self.strata("image", "unmount", self.mnt)

    def assert_no_active(self):
        self.assertEqual(self.stack.actives(), [], "active snapshots left behind")

    def committed(self):
        return self.stack.committed()

    def test_sample_image_unpacks_and_mounts_as_expected(self):
        expect = self.make_image("strata.test/sample:1")
        result = self.stack.strata_json("image", "unpack", "strata.test/sample:1")
        record = json.loads(self.strata("image", "inspect", "strata.test/sample:1").stdout)
        chain = record["resolved"]["chainIds"]
        # The OCI image spec's ChainID: chain[i] = sha256("<chain[i-1]> <diff_id[i]>").
        want = []
        for diff_id in record["resolved"]["diffIds"]:
            want.append(diff_id if not want else
                        "sha256:" + hashlib.sha256(f"{want[-1]} {diff_id}".encode()).hexdigest())
        self.assertEqual(chain, want)
        self.assertEqual(result["chainId"], chain[-1])
        self.assertEqual([l["chainId"] for l in result["layers"]], chain)
        self.assertTrue(all(l["applied"] for l in result["layers"]), result)
        self.assertEqual(self.committed(), sorted(chain))
        self.assert_no_active()
        for info in self.stack.snapshots():
            self.assertEqual(info["labels"]["strata/snapshot.ref"], info["name"])

        self.assertEqual(self.mounted_digest("strata.test/sample:1"),
                         s.tree_digest(self, expect, *DIGEST_OPTIONS))
        self.assertFalse(s.mounted(self.mnt))
        # The view made for the mount went with the unmount.
        self.assertEqual(self.committed(), sorted(chain))
        self.assertEqual(len(self.stack.snapshots()), len(chain))

        # --rw: writable, and the change is gone after unmount.
        self.strata("image", "mount", "strata.test/sample:1", self.mnt, "--rw")
        with open(os.path.join(self.mnt, "scratch"), "w", encoding="utf-8") as f:
            f.write("x")
        self.strata("image", "unmount", self.mnt)
        self.assertEqual(self.mounted_digest("strata.test/sample:1"),
                         s.tree_digest(self, expect, *DIGEST_OPTIONS))

        # Human output: one summary line.
        proc = self.strata("image", "unpack", "strata.test/sample:1")
        self.assertIn("0 applied, 3 already there", proc.stdout)

    def test_root_path_with_overlay_separators(self):
        # ':' and ',' separate overlay layers and options: the snapshotter escapes them in the
        # mounts it returns, and the differ and the unpack must read its paths back unescaped.
        self.assertEqual(self.stack.daemon.terminate(), 0)
        root = os.path.join(self.workdir, "root:with,separators")
        self.stack = s.Stack(self, self.workdir, root=root).start()
        name = "strata.test/separators:1"
        expect = self.make_image(name, "--layers", "4", "--whiteouts")
        want = s.tree_digest(self, expect, *DIGEST_OPTIONS)
        for args in (["--sequential"], []):
            with self.subTest(args=args):
                result = self.stack.strata_json("image", "unpack", name, *args)
                self.assertTrue(all(l["applied"] for l in result["layers"]), result)
                self.assertTrue(os.path.isdir(os.path.join(root, s.SNAPSHOTTER_URI)))
                self.assertEqual(self.mounted_digest(name), want)
                self.stack.remove_all_snapshots()

    def test_parallel_equals_sequential_with_whiteouts_in_every_layer(self):
        name = "strata.test/whiteouts:100"
        expect = self.make_image(name, "--layers", "100", "--whiteouts")
        want = s.tree_digest(self, expect, *DIGEST_OPTIONS)

        sequential = self.stack.strata_json("image", "unpack", name, "--sequential",
                                            timeout=600)
        self.assertFalse(sequential["parallel"])
        self.assertEqual(self.mounted_digest(name), want)

        self.stack.remove_all_snapshots()
        parallel = self.stack.strata_json("image", "unpack", name, timeout=600)
        self.assertTrue(parallel["parallel"], "overlayfs can rebase: the unpack should be parallel")
        self.assertEqual(parallel["chainId"], sequential["chainId"])
        self.assertEqual(self.mounted_digest(name), want)
        self.assert_no_active()

    def test_existing_layers_are_skipped_and_concurrent_unpacks_share_snapshots(self):
        name = "strata.test/concurrent:1"
        self.make_image(name, "--layers", "12", "--whiteouts")
        procs = [subprocess.Popen([h.strata_cli(), "--address", self.stack.daemon.socket, "image",
                                   "unpack", name, "--json"], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
        results = []
        for p in procs:
            out, err = p.communicate(timeout=300)
            self.assertEqual(p.returncode, 0, err + self.stack.daemon.describe())
            results.append(json.loads(out))
        self.assertEqual(len({r["chainId"] for r in results}), 1)
        record = json.loads(self.strata("image", "inspect", name).stdout)
        self.assertEqual(self.committed(), sorted(record["resolved"]["chainIds"]))
        self.assert_no_active()

        again = self.stack.strata_json("image", "unpack", name, "--sync-fs")
        self.assertFalse(any(l["applied"] for l in again["layers"]), again)
        self.assertTrue(again["syncFs"])

    def test_hardlink_to_a_file_of_an_earlier_layer(self):
        # Layer 1 is applied straight into its upperdir: "b" names a file only layer 0 holds,
        # which must be copied up from the lowerdir (the bug: "hardlink target ...: No such
        # file or directory"). In parallel the first apply has no lowerdir: it fails NeedsParent
        # and the layer is applied again onto its committed parent.
        name = "strata.test/hardlinks:1"
        layout = os.path.join(self.workdir, "layout-hardlinks")
        write_layout(layout, name, [
            [(tar_entry("data", tarfile.DIRTYPE, 0o750, uid=1234, gid=5678), None),
             (tar_entry("data/a", mode=0o4750, uid=1234, gid=5678), b"from layer 0\n")],
            [(tar_entry("b", tarfile.LNKTYPE, link="data/a"), None),
             (tar_entry("lib/c", tarfile.LNKTYPE, link="data/a"), None)],
        ])
        self.strata("image", "import", layout)
        for args in (["--sequential"], []):
            with self.subTest(args=args):
                result = self.stack.strata_json("image", "unpack", name, *args)
                self.assertEqual(result["parallel"], not args)
                self.assertTrue(all(l["applied"] for l in result["layers"]), result)
                self.assert_no_active()
                self.assert_hardlinked_tree(name)
                self.stack.remove_all_snapshots()

    def test_deleted_files_stay_deleted_in_both_unpack_modes(self):
        # Issue 16: a directory whited out and recreated, a whiteout after the layer's own
        # directory and an opaque marker at the layer root each let lower files reappear in the
        # mounted image; a whiteout below a lower symlink turned the link into a directory.
        D, F, L = tarfile.DIRTYPE, tarfile.REGTYPE, tarfile.SYMTYPE
        base = [(tar_entry("d", D, 0o755), None), (tar_entry("d/old"), b"old"),
                (tar_entry("e", D, 0o755), None), (tar_entry("e/old"), b"old"),
                (tar_entry("etc", D, 0o755), None), (tar_entry("etc/passwd"), b"root"),
                (tar_entry("real", D, 0o755), None), (tar_entry("real/x"), b"x"),
                (tar_entry("lnk", L, link="real"), None)]
        recreate = [(tar_entry(".wh.d"), b""), (tar_entry("d", D, 0o755), None),
                    (tar_entry("d/new"), b"new"), (tar_entry("e", D, 0o755), None),
                    (tar_entry("e/new"), b"new"), (tar_entry(".wh.e"), b"")]
        root_opaque = [(tar_entry(".wh..wh..opq"), b""), (tar_entry("etc", D, 0o755), None),
                       (tar_entry("etc/new"), b"new")]
        cases = {
            "strata.test/recreated:1": ([base, recreate],
                                        ["d", "d/new", "e", "e/new", "etc", "etc/passwd", "lnk",
                                         "real", "real/x"]),
            "strata.test/root-opaque:1": ([base, recreate, root_opaque], ["etc", "etc/new"]),
        }
        for name, (layers, want) in cases.items():
            layout = os.path.join(self.workdir, "layout-" + name.split("/")[1].split(":")[0])
            write_layout(layout, name, layers)
            self.strata("image", "import", layout)
            for args in (["--sequential"], []):
                with self.subTest(image=name, args=args):
                    result = self.stack.strata_json("image", "unpack", name, *args)
                    self.assertEqual(result["parallel"], not args)
                    self.strata("image", "mount", name, self.mnt)
                    try:
                        got = sorted(os.path.relpath(os.path.join(d, n), self.mnt)
                                     for d, dirs, files in os.walk(self.mnt)
                                     for n in dirs + files)
                    finally:
                        self.strata("image", "unmount", self.mnt)
                    self.assertEqual(got, want)
                    self.assert_no_active()
                    self.stack.remove_all_snapshots()

        name = "strata.test/below-link:1"
        layout = os.path.join(self.workdir, "layout-below-link")
        write_layout(layout, name, [base, [(tar_entry("lnk/.wh.x"), b"")]])
        self.strata("image", "import", layout)
        for args in (["--sequential"], []):
            with self.subTest(image=name, args=args):
                failed = self.strata("image", "unpack", name, *args, expect=None)
                self.assertNotEqual(failed.returncode, 0)
                self.assertIn("symlink", failed.stderr)
                self.assert_no_active()
                self.stack.remove_all_snapshots()

    def assert_hardlinked_tree(self, name):
        self.strata("image", "mount", name, self.mnt)
        try:
            a, b, c = (os.lstat(os.path.join(self.mnt, p)) for p in ("data/a", "b", "lib/c"))
            for p in ("data/a", "b", "lib/c"):
                with open(os.path.join(self.mnt, p), "rb") as f:
                    self.assertEqual(f.read(), b"from layer 0\n", p)
            self.assertEqual(a.st_ino, b.st_ino)
            self.assertEqual(a.st_ino, c.st_ino)
            self.assertEqual(b.st_nlink, 3)
            self.assertEqual((b.st_mode & 0o7777, b.st_uid, b.st_gid), (0o4750, 1234, 5678))
            # "data" was copied up for the link: it keeps layer 0's owner and mode.
            d = os.lstat(os.path.join(self.mnt, "data"))
            self.assertEqual((d.st_mode & 0o7777, d.st_uid, d.st_gid), (0o750, 1234, 5678))
        finally:
            self.strata("image", "unmount", self.mnt)

    def corrupt_diff_id(self, name, layer):
        """Imports a copy of the sample image whose config lies about one layer's diff ID."""
        layout = os.path.join(self.workdir, "lying")
        s.sample_image(self, layout, "--name", name)

        def read_blob(digest):
            with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "rb") as f:
                return f.read()

        def write_blob(data):
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            with open(os.path.join(layout, "blobs", "sha256", digest[7:]), "wb") as f:
                f.write(data)
            return digest, len(data)

        with open(os.path.join(layout, "index.json"), encoding="utf-8") as f:
            index = json.load(f)
        manifest = json.loads(read_blob(index["manifests"][0]["digest"]))
        config = json.loads(read_blob(manifest["config"]["digest"]))
        config["rootfs"]["diff_ids"][layer] = "sha256:" + hashlib.sha256(b"a lie").hexdigest()
        manifest["config"]["digest"], manifest["config"]["size"] = write_blob(
            json.dumps(config).encode())
        digest, size = write_blob(json.dumps(manifest).encode())
        index["manifests"][0].update(digest=digest, size=size)
        with open(os.path.join(layout, "index.json"), "w", encoding="utf-8") as f:
            json.dump(index, f)
        self.strata("image", "import", layout)

    def test_wrong_diff_id_fails_and_removes_its_active_snapshots(self):
        self.corrupt_diff_id("strata.test/lying:1", layer=1)
        for mode in (["--sequential"], []):
            proc = self.strata("image", "unpack", "strata.test/lying:1", *mode, expect=1)
            self.assertIn("FailedPrecondition", proc.stderr)
            self.assertIn("diff ID", proc.stderr)
            self.assert_no_active()
            # Layer 0 is right and stays committed for a retry; nothing above it exists.
            self.assertEqual(len(self.committed()), 1, self.stack.snapshots())

    def test_progress_stream_and_api_errors(self):
        name = "strata.test/progress:1"
        self.make_image(name, "--layers", "5", "--whiteouts")
        conn = h.UnixHTTPConnection(self.stack.daemon.socket, timeout=120)
        conn.request("POST", image_path(name, "unpack"),
                     body=json.dumps({"progress": True, "syncFs": True}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Content-Type"), "application/x-ndjson")
        lines = [json.loads(l) for l in response.read().decode().splitlines()]
        conn.close()
        self.assertIn("result", lines[-1], lines[-1])
        self.assertTrue(lines[-1]["result"]["syncFs"])
        states = {(l["progress"]["layer"], l["progress"]["state"]) for l in lines[:-1]}
        for layer in range(5):
            self.assertIn((layer, "committed"), states)

        status, body = h.http_request(self.stack.daemon.socket, "POST",
                                      image_path("no/such:image", "unpack"), {})
        self.assertEqual(status, 404, body)
        status, body = h.http_request(self.stack.daemon.socket, "POST", image_path(name, "unpack"),
                                      {"snapshotter": "nosuch"})
        self.assertEqual(status, 404, body)
        self.assertIn("overlayfs", json.loads(body)["message"])
        status, body = h.http_request(self.stack.daemon.socket, "POST", image_path(name, "unpack"),
                                      {"parallel": "yes"})
        self.assertEqual(status, 400, body)
        proc = self.strata("image", "mount", "no/such:image", self.mnt, expect=1)
        self.assertIn("NotFound", proc.stderr)


class CrashTest(unittest.TestCase):
    """kill -9 of stratad in the middle of an unpack."""

    def test_kill_during_unpack_then_unpack_again(self):
        workdir = h.make_workdir(self)
        st = s.Stack(self, workdir).start()
        name = "strata.test/crash:1"
        layout = os.path.join(workdir, "layout")
        s.sample_image(self, layout, "--name", name, "--layers", "60", "--whiteouts",
                       "--files-per-layer", "200")
        st.strata("image", "import", layout)

        conn = h.UnixHTTPConnection(st.daemon.socket, timeout=120)
        conn.request("POST", image_path(name, "unpack"), body=json.dumps({"progress": True}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        self.assertEqual(response.status, 200)
        finished = False
        while True:
            line = response.readline()
            if not line:
                break
            event = json.loads(line)
            if "result" in event or "error" in event:
                finished = True
                break
            if event["progress"]["state"] in ("applied", "committed"):
                break  # some layers done, others not: kill now
        st.daemon.proc.send_signal(signal.SIGKILL)
        st.daemon.proc.wait(timeout=30)
        try:
            conn.close()
        except (OSError, http.client.HTTPException):
            pass

        st.start()
        if not finished:
            # The images service's own log line, carrying its id (InitContext::logger()).
            self.assertRegex(st.daemon.stderr(),
                             r"\[strata\.service\.v1\.images\] \[info\] removed \d+ active "
                             r"snapshot\(s\) of strata\.snapshotter\.v1\.\S+ left by an unpack "
                             r"that did not finish")
        self.assertEqual([i for i in st.snapshots() if i["kind"] == "Active"], [])
        result = st.strata_json("image", "unpack", name, timeout=600)
        self.assertEqual(len(result["layers"]), 60)
        st.strata("snapshots", "cleanup")
        on_disk = sorted(os.listdir(os.path.join(st.snapshotter_root, "snapshots")))
        self.assertEqual(len(on_disk), len(st.snapshots()),
                         f"orphaned snapshot directories: {on_disk}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
