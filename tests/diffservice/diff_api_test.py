"""The diff API end to end: POST /v1/diff/apply and /v1/diff/compare on a real stratad, by curl's
route and by `strata diff apply|compare`.

With the fake differs (tests/diffservice/fake_*.cpp) the service's fallback is seen through the
API: NotImplemented moves on, any other error stops with its own code, `differ=ID` bypasses the
order. With the content store and the walking differ a real layer is ingested, applied onto a
directory, and compared back into a reproducible blob that applies to the same tree.
"""

import hashlib
import io
import json
import os
import sys
import tarfile
import unittest

sys.path.insert(0, os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "integration"))
import harness as h  # noqa: E402

SECTION = '[plugins."strata.service.v1.diff"]\n'
FAKES = ["notimpl", "fails", "works"]
ZERO = "sha256:" + "0" * 64


def apply_body(mounts_dir):
    return {"descriptor": {"mediaType": "application/vnd.oci.image.layer.v1.tar",
                           "digest": ZERO, "size": 0},
            "mounts": [{"type": "bind", "source": mounts_dir, "options": ["rbind", "rw"]}]}


class FakeDifferApiTest(unittest.TestCase):
    def start(self, order, with_service=True):
        self.workdir = h.make_workdir(self)
        plugins = os.path.join(self.workdir, "plugins")
        if with_service:
            h.install_plugin(h.env_path("DIFF_SERVICE_PLUGIN", "the diff service module"),
                             plugins)
        fake_dir = h.env_path("DIFFSERVICE_FAKE_DIR", "the directory of the fake differs")
        for b in FAKES:
            h.install_plugin(os.path.join(fake_dir, f"strata-differ-fake-{b}.so"), plugins)
        extra = SECTION + "default = [" + ", ".join(f'"{d}"' for d in order) + "]\n"
        config = h.write_config(os.path.join(self.workdir, "config.toml"),
                                extra=extra if with_service else "")
        self.daemon = h.Daemon(self, self.workdir, plugin_dirs=[plugins], config=config).start()
        self.daemon.wait_ready()
        self.target = os.path.join(self.workdir, "target")
        os.makedirs(self.target)

    def post(self, path, body):
        status, raw = h.http_request(self.daemon.socket, "POST", path, body, timeout=30)
        return status, json.loads(raw) if raw.strip() else None

    def cli(self, *args):
        return h.cli(self.daemon, *args)

    def test_not_implemented_falls_through_to_the_next_differ(self):
        self.start(["notimpl", "works"])
        status, body = self.post("/v1/diff/apply", apply_body(self.target))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["annotations"]["test.strata.differ"], "works")
        status, body = self.post("/v1/diff/compare", {"lower": [], "upper": []})
        self.assertEqual(status, 201, body)
        self.assertEqual(body["annotations"]["test.strata.operation"], "compare")
        # The CLI sends the same request: media type and size given, so no content store needed.
        proc = self.cli("diff", "apply", "--media-type", "application/vnd.oci.image.layer.v1.tar",
                        "--size", "0", "--sync-fs", "--json", ZERO, self.target)
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        out = json.loads(proc.stdout)
        self.assertEqual(out["annotations"]["test.strata.differ"], "works")
        self.assertEqual(out["annotations"]["test.strata.sync_fs"], "true")

    def test_another_error_stops_the_fallback_with_its_code(self):
        self.start(["fails", "works"])
        status, body = self.post("/v1/diff/apply", apply_body(self.target))
        self.assertEqual(status, 500, body)
        self.assertEqual(body["code"], "Internal")
        self.assertIn("boom", body["message"])
        proc = self.cli("diff", "apply", "--size", "0", ZERO, self.target)
        self.assertEqual(proc.returncode, 1, h.describe(proc))
        self.assertIn("boom", proc.stderr)

    def test_only_not_implemented_is_501_naming_each_differ(self):
        self.start(["notimpl"])
        status, body = self.post("/v1/diff/apply", apply_body(self.target))
        self.assertEqual(status, 501, body)
        self.assertEqual(body["code"], "NotImplemented")
        self.assertIn("notimpl", body["message"])

    def test_differ_parameter_uses_one_differ_directly(self):
        self.start(["fails"])
        status, body = self.post("/v1/diff/apply?differ=works", apply_body(self.target))
        self.assertEqual(status, 200, body)
        self.assertEqual(body["annotations"]["test.strata.differ"], "works")
        status, body = self.post("/v1/diff/apply?differ=nosuch", apply_body(self.target))
        self.assertEqual(status, 404, body)
        self.assertIn("strata.differ.v1.nosuch", body["message"])
        proc = self.cli("diff", "apply", "--size", "0", "--differ", "works", ZERO, self.target)
        self.assertEqual(proc.returncode, 0, h.describe(proc))

    def test_unknown_lowers_target_reaches_no_differ_without_the_capability(self):
        # The fakes list no capabilities: neither the service nor differ=ID may hand them a
        # parentless upperdir (they would write it as a plain directory).
        self.start(["works"])
        body = apply_body(self.target)
        body["options"] = {"target": "upperdir-unknown-lowers"}
        for path in ("/v1/diff/apply", "/v1/diff/apply?differ=works"):
            with self.subTest(path=path):
                status, answer = self.post(path, body)
                self.assertEqual(status, 501, answer)
                self.assertIn("apply-unknown-lowers", answer["message"])
        body["options"] = {"target": "mounts"}
        status, answer = self.post("/v1/diff/apply?differ=works", body)
        self.assertEqual(status, 200, answer)
        body["options"] = {"target": "upper"}
        status, answer = self.post("/v1/diff/apply", body)
        self.assertEqual(status, 400, answer)
        self.assertIn("target", answer["message"])

    def test_bad_requests_are_400_naming_what_is_wrong(self):
        self.start(["works"])
        status, body = self.post("/v1/diff/apply", {"mounts": []})
        self.assertEqual(status, 400, body)
        self.assertIn("descriptor", body["message"])
        status, body = self.post("/v1/diff/apply", b"{not json")
        self.assertEqual(status, 400, body)
        body = apply_body(self.target)
        body["options"] = {"syncFs": "yes"}
        status, answer = self.post("/v1/diff/apply", body)
        self.assertEqual(status, 400, answer)
        # Unknown fields (top level or in "options") and empty label keys are refused, naming them.
        for path, bad, named in (
                ("/v1/diff/apply", {**apply_body(self.target), "mount": []}, "mount"),
                ("/v1/diff/apply", {**apply_body(self.target), "options": {"syncfs": True}},
                 "syncfs"),
                ("/v1/diff/compare", {"lower": [], "upper": [], "options": {"labels": {"": "v"}}},
                 "empty key")):
            status, answer = self.post(path, bad)
            self.assertEqual(status, 400, answer)
            self.assertIn(named, answer["message"])
        # SOURCE_DATE_EPOCH out of [0, 9223372036] is refused, not wrapped into the mtimes.
        for epoch in (2**63 - 1, 2**64 - 1, -2**63, -1, 253402300799, "9999-12-31T23:59:59Z"):
            status, answer = self.post("/v1/diff/compare", {
                "lower": [], "upper": [], "options": {"sourceDateEpoch": epoch}})
            self.assertEqual(status, 400, (epoch, answer))
            self.assertEqual(answer["code"], "InvalidArgument")
            self.assertIn("sourceDateEpoch", answer["message"])
        proc = self.cli("diff", "apply", "--size", "0", ZERO, os.path.join(self.workdir, "nope"))
        self.assertEqual(proc.returncode, 1, h.describe(proc))
        self.assertIn("is not a directory", proc.stderr)

    def test_without_the_service_the_routes_are_503_saying_what_to_load(self):
        self.start([], with_service=False)
        status, body = self.post("/v1/diff/apply", apply_body(self.target))
        self.assertEqual(status, 503, body)
        self.assertIn("strata-service-diff.so", body["message"])


def layer(files, gzip=True):
    """A layer tar (gzip'd by default) of {name: bytes or None for a directory}; returns
    (blob bytes, uncompressed digest)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.mtime = 1_600_000_000
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    plain = raw.getvalue()
    diff_id = "sha256:" + hashlib.sha256(plain).hexdigest()
    if not gzip:
        return plain, diff_id
    import gzip as gz
    return gz.compress(plain, mtime=0), diff_id


def tree(root):
    """{relative path: file bytes or 'dir'} of a directory."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = "dir"
        for f in filenames:
            with open(os.path.join(dirpath, f), "rb") as fh:
                out[os.path.relpath(os.path.join(dirpath, f), root)] = fh.read()
    return out


class WalkingRoundTripTest(unittest.TestCase):
    def setUp(self):
        if not os.environ.get("WALKING_PLUGIN") or not os.environ.get("CONTENT_PLUGIN"):
            self.skipTest("WALKING_PLUGIN and CONTENT_PLUGIN are not set: the walking differ "
                          "and the content store are not part of this build")
        self.workdir = h.make_workdir(self)
        plugins = os.path.join(self.workdir, "plugins")
        for env in ("DIFF_SERVICE_PLUGIN", "WALKING_PLUGIN", "CONTENT_PLUGIN"):
            h.install_plugin(h.env_path(env, "a built plugin"), plugins)
        config = h.write_config(os.path.join(self.workdir, "config.toml"),
                                required=["strata.service.v1.diff"])
        self.daemon = h.Daemon(self, self.workdir, plugin_dirs=[plugins], config=config).start()
        self.daemon.wait_ready()

    def cli(self, *args, expect=0):
        proc = h.cli(self.daemon, *args, timeout=60)
        if expect is not None:
            self.assertEqual(proc.returncode, expect, h.describe(proc) + self.daemon.describe())
        return proc

    def ingest(self, blob):
        path = os.path.join(self.workdir, "blob-" + hashlib.sha256(blob).hexdigest()[:12])
        with open(path, "wb") as f:
            f.write(blob)
        return self.cli("content", "ingest", path).stdout.strip()

    def fresh_dir(self, name):
        path = os.path.join(self.workdir, name)
        os.makedirs(path)
        return path

    def test_apply_compare_and_apply_again_give_the_same_tree(self):
        files = {"etc": None, "etc/hostname": b"strata\n", "usr": None, "usr/bin": None,
                 "usr/bin/tool": os.urandom(70_000)}
        blob, diff_id = layer(files)
        digest = self.ingest(blob)
        first = self.fresh_dir("first")
        proc = self.cli("diff", "apply", "--diff-id", diff_id, digest, first)
        self.assertIn(diff_id, proc.stdout)
        self.assertEqual(tree(first)["etc/hostname"], b"strata\n")
        self.assertEqual(tree(first)["usr/bin/tool"], files["usr/bin/tool"])

        empty = self.fresh_dir("empty")
        out = json.loads(self.cli("diff", "compare", "--source-date-epoch", "1700000000",
                                  "--json", empty, first).stdout)
        self.assertEqual(out["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip")
        again = self.cli("diff", "compare", "--source-date-epoch", "1700000000", empty,
                         first).stdout.strip()
        self.assertEqual(again, out["digest"], "same trees and epoch: byte-identical blobs")
        listed = self.cli("content", "ls", "-q").stdout.split()
        self.assertIn(out["digest"], listed)

        second = self.fresh_dir("second")
        self.cli("diff", "apply", "--media-type", out["mediaType"], out["digest"], second)
        self.assertEqual(tree(second), tree(first))

    def test_wrong_diff_id_fails_with_failed_precondition(self):
        blob, _ = layer({"f": b"x"})
        digest = self.ingest(blob)
        proc = self.cli("diff", "apply", "--diff-id", "sha256:" + "1" * 64, digest,
                        self.fresh_dir("t"), expect=1)
        self.assertIn("FailedPrecondition", proc.stderr)

    def test_unhandled_media_type_is_not_implemented(self):
        blob, _ = layer({"f": b"x"}, gzip=False)
        digest = self.ingest(blob)
        proc = self.cli("diff", "apply", "--media-type", "application/x-unknown", digest,
                        self.fresh_dir("t"), expect=1)
        self.assertIn("NotImplemented", proc.stderr)
        proc = self.cli("diff", "apply", "sha256:" + "2" * 64, self.fresh_dir("u"), expect=1)
        self.assertIn("NotFound", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
