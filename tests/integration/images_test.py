"""The images service end to end: a real stratad with the content plugin and the images plugin,
driven by the real `strata image` commands and by HTTP on the socket.

A generated three-layer OCI image layout (real gzip layer tars, a config whose diff_ids are the
digests of the uncompressed tars) is imported as a directory and as a tar, listed, inspected and
removed; a broken layout is refused naming the blob and leaves no image record.
"""

import gzip
import hashlib
import io
import json
import os
import tarfile
import unittest
import urllib.parse

import harness as h


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def layer_tar(i, seed):
    """An uncompressed layer tar holding one file."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        data = f"layer {i} of layout {seed}\n".encode() * (i + 1)
        info = tarfile.TarInfo(f"file{i}.txt")
        info.size = len(data)
        info.mtime = 1700000000
        t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


class Layout:
    """An OCI image layout of one linux/amd64 image with `layers` gzip layers, held as files."""

    def __init__(self, layers=3, name="example.com/strata/test:1", seed=0):
        self.files = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
        self.layers = []
        diff_ids = []
        for i in range(layers):
            raw = layer_tar(i, seed)
            diff_ids.append(sha256(raw))
            self.layers.append(self.blob("application/vnd.oci.image.layer.v1.tar+gzip",
                                         gzip.compress(raw, mtime=0)))
        self.diff_ids = diff_ids
        config = {"architecture": "amd64", "os": "linux",
                  "rootfs": {"type": "layers", "diff_ids": diff_ids}}
        self.config = self.blob("application/vnd.oci.image.config.v1+json",
                                json.dumps(config).encode())
        manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": self.config, "layers": self.layers}
        self.manifest = self.blob("application/vnd.oci.image.manifest.v1+json",
                                  json.dumps(manifest).encode())
        entry = dict(self.manifest)
        if name:
            entry["annotations"] = {"org.opencontainers.image.ref.name": name}
        self.files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [entry]}).encode()

    def blob(self, media_type, data):
        digest = sha256(data)
        self.files["blobs/sha256/" + digest[7:]] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    @staticmethod
    def path_of(desc):
        return "blobs/sha256/" + desc["digest"][7:]

    def write_dir(self, path):
        for name, data in self.files.items():
            full = os.path.join(path, name)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(data)
        return path

    def write_tar(self, path):
        with tarfile.open(path, "w") as t:
            for name, data in sorted(self.files.items()):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
        return path


class ImagesTest(unittest.TestCase):
    def setUp(self):
        self.workdir = h.make_workdir(self)
        plugins = os.path.join(self.workdir, "plugins")
        h.install_plugin(h.env_path("CONTENT_PLUGIN", "the built strata-content-content.so"),
                         plugins)
        h.install_plugin(h.env_path("IMAGES_PLUGIN", "the built strata-service-images.so"),
                         plugins)
        config = h.write_config(os.path.join(self.workdir, "config.toml"),
                                required=["strata.content.v1.content",
                                          "strata.service.v1.images"])
        self.daemon = h.Daemon(self, self.workdir, plugin_dirs=[plugins], config=config).start()
        self.daemon.wait_ready()

    def strata(self, *args, expect=0):
        return h.checked_cli(self, self.daemon, *args, expect=expect)

    def names(self):
        return self.strata("image", "ls", "-q").stdout.split()

    def test_import_directory_and_tar_ls_inspect_rm(self):
        layout = Layout()
        directory = layout.write_dir(os.path.join(self.workdir, "layout"))
        tar = layout.write_tar(os.path.join(self.workdir, "layout.tar"))

        proc = self.strata("image", "import", directory)
        self.assertIn("imported example.com/strata/test:1", proc.stdout)
        proc = self.strata("image", "import", tar, "--name", "other/name:tar", "--json")
        imported = json.loads(proc.stdout)
        self.assertEqual([i["name"] for i in imported], ["other/name:tar"])

        self.assertEqual(self.names(), ["example.com/strata/test:1", "other/name:tar"])
        table = self.strata("image", "ls").stdout
        self.assertIn("linux/amd64", table)
        self.assertIn(layout.manifest["digest"], table)

        record = json.loads(self.strata("image", "inspect", "other/name:tar").stdout)
        self.assertEqual(record["resolved"]["layers"], layout.layers)
        self.assertEqual(record["resolved"]["diffIds"], layout.diff_ids)
        self.assertEqual(record["resolved"]["config"], layout.config)
        self.assertEqual(record["target"]["digest"], layout.manifest["digest"])

        # Every blob is in the content store, with the bytes of the layout.
        blobs = self.strata("content", "ls", "-q").stdout.split()
        for desc in layout.layers + [layout.config, layout.manifest]:
            self.assertIn(desc["digest"], blobs)

        # The name is one percent-encoded path segment.
        status, body = h.http_get(self.daemon.socket, "/v1/images/" +
                                  urllib.parse.quote("other/name:tar", safe=""))
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["name"], "other/name:tar")

        proc = self.strata("image", "rm", "example.com/strata/test:1", "other/name:tar")
        self.assertEqual(proc.stdout.split(), ["example.com/strata/test:1", "other/name:tar"])
        self.assertEqual(self.names(), [])
        proc = self.strata("image", "rm", "other/name:tar", expect=1)
        self.assertIn("NotFound", proc.stderr)
        proc = self.strata("image", "inspect", "other/name:tar", expect=1)
        self.assertIn("NotFound", proc.stderr)
        # The blobs stay: other images may share them.
        self.assertIn(layout.layers[0]["digest"], self.strata("content", "ls", "-q").stdout)

    def test_bad_layout_leaves_no_record(self):
        layout = Layout()
        missing = Layout.path_of(layout.layers[1])
        del layout.files[missing]
        for path in (layout.write_dir(os.path.join(self.workdir, "broken")),
                     layout.write_tar(os.path.join(self.workdir, "broken.tar"))):
            proc = self.strata("image", "import", path, expect=1)
            self.assertIn("InvalidArgument", proc.stderr)
            self.assertIn(missing, proc.stderr)
            self.assertEqual(self.names(), [])

        # Other layers than above: a blob the store holds already is not read again (the store's
        # copy was verified when it went in), so the corruption must be in a new blob.
        corrupt = Layout(seed=1)
        data = bytearray(corrupt.files[Layout.path_of(corrupt.layers[2])])
        data[-1] ^= 0xFF
        corrupt.files[Layout.path_of(corrupt.layers[2])] = bytes(data)
        proc = self.strata("image", "import",
                           corrupt.write_tar(os.path.join(self.workdir, "corrupt.tar")), expect=1)
        self.assertIn(corrupt.layers[2]["digest"], proc.stderr)
        self.assertEqual(self.names(), [])

        unnamed = Layout(name=None)
        proc = self.strata("image", "import",
                           unnamed.write_dir(os.path.join(self.workdir, "unnamed")), expect=1)
        self.assertIn("--name", proc.stderr)
        self.assertEqual(self.names(), [])

    def test_api_errors(self):
        status, body = h.http_request(self.daemon.socket, "POST", "/v1/images/import",
                                      {"path": "relative/layout"})
        self.assertEqual(status, 400, body)
        self.assertIn("absolute", json.loads(body)["message"])
        status, body = h.http_request(self.daemon.socket, "POST", "/v1/images/import",
                                      {"path": os.path.join(self.workdir, "nothing")})
        self.assertEqual(status, 404, body)
        layout = Layout()
        status, body = h.http_request(
            self.daemon.socket, "POST", "/v1/images/import",
            {"path": layout.write_dir(os.path.join(self.workdir, "l")), "platform": "linux"})
        self.assertEqual(status, 400, body)
        status, body = h.http_request(
            self.daemon.socket, "POST", "/v1/images/import",
            {"path": os.path.join(self.workdir, "l"), "platform": "linux/arm64"})
        self.assertEqual(status, 404, body)
        self.assertIn("platform not found", json.loads(body)["message"])
        status, body = h.http_get(self.daemon.socket, "/v1/images?filter=bogus")
        self.assertEqual(status, 400, body)
        # One body strictness for every route: unknown fields and empty label keys are refused,
        # naming them, before anything is read.
        for extra, named in (({"lables": {"a": "1"}}, "lables"), ({"labels": {"": "v"}}, "empty key")):
            status, body = h.http_request(self.daemon.socket, "POST", "/v1/images/import",
                                          {"path": os.path.join(self.workdir, "l"), **extra})
            self.assertEqual(status, 400, body)
            self.assertEqual(json.loads(body)["code"], "InvalidArgument")
            self.assertIn(named, json.loads(body)["message"])


if __name__ == "__main__":
    unittest.main()
