"""The content store end to end: a real stratad with the content plugin, driven by the real
`strata content` commands and by curl on the socket.

Blobs stream both ways (a 20 MiB file is never a single request body in memory), a wrong
--digest stores nothing, labels change, rm reports each digest, and `get` refuses to write a
binary blob to a terminal.
"""

import hashlib
import json
import os
import pty
import subprocess
import unittest

import harness as h

BIG = 20 << 20  # bytes of the random file: far over the 1 MiB [api] max_body_bytes


def sha256_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


def random_file(path, size):
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


class ContentTest(unittest.TestCase):
    def setUp(self):
        self.workdir = h.make_workdir(self)
        plugins = os.path.join(self.workdir, "plugins")
        h.install_plugin(h.env_path("CONTENT_PLUGIN", "the built strata-content-content.so"),
                         plugins, 0o644)
        config = h.write_config(os.path.join(self.workdir, "config.toml"),
                                required=["strata.content.v1.content"])
        self.daemon = h.Daemon(self, self.workdir, plugin_dirs=[plugins], config=config).start()
        self.daemon.wait_ready()
        self.store_root = os.path.join(self.daemon.root, "strata.content.v1.content")

    def strata(self, *args, expect=0):
        return h.checked_cli(self, self.daemon, *args, expect=expect)

    def strata_binary(self, *args, stdin=None):
        """`strata ARGS` with stdout captured as bytes (for blobs)."""
        argv = [h.strata_cli(), "--address", self.daemon.socket, *args]
        return subprocess.run(argv, stdin=stdin or subprocess.DEVNULL, capture_output=True,
                              timeout=h.COMMAND_TIMEOUT)

    def curl(self, *args):
        proc = h.run([h.program("curl"), "-sS", "--unix-socket", self.daemon.socket, *args])
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        return proc.stdout

    def ls_digests(self, *filters):
        return self.strata("content", "ls", "-q", *filters).stdout.split()

    def leftover_ingests(self):
        return os.listdir(os.path.join(self.store_root, "ingest"))

    def test_ingest_ls_get_rm(self):
        path = random_file(os.path.join(self.workdir, "big.bin"), BIG)
        digest = sha256_file(path)

        proc = self.strata("content", "ingest", path)
        self.assertEqual(proc.stdout.strip(), digest)

        table = self.strata("content", "ls").stdout.splitlines()
        self.assertEqual(table[0].split(), ["DIGEST", "SIZE", "AGE", "LABELS"])
        rows = [line.split() for line in table[1:]]
        self.assertEqual(len(rows), 1, table)
        self.assertEqual(rows[0][0], digest)
        self.assertEqual(rows[0][1:3], ["20", "MiB"])
        self.assertEqual(self.ls_digests(), [digest])
        listing = json.loads(self.strata("content", "ls", "--json").stdout)
        self.assertEqual([(b["digest"], b["size"]) for b in listing], [(digest, BIG)])

        out = os.path.join(self.workdir, "out.bin")
        self.strata("content", "get", digest, "-o", out)
        self.assertEqual(sha256_file(out), digest)
        proc = self.strata_binary("content", "get", digest)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual("sha256:" + hashlib.sha256(proc.stdout).hexdigest(), digest)

        # Any HTTP client: the list, the info and the blob itself.
        listing = json.loads(self.curl("http://strata/v1/content"))
        self.assertEqual([b["digest"] for b in listing], [digest])
        info = json.loads(self.curl(f"http://strata/v1/content/{digest}/info"))
        self.assertEqual(info["size"], BIG)
        via_curl = os.path.join(self.workdir, "curl.bin")
        self.curl("-o", via_curl, f"http://strata/v1/content/{digest}")
        self.assertEqual(sha256_file(via_curl), digest)

        missing = "sha256:" + "0" * 64
        proc = self.strata("content", "rm", digest, missing, expect=1)
        self.assertEqual(proc.stdout.split(), [digest])
        self.assertIn("NotFound", proc.stderr)
        self.assertIn(missing, proc.stderr)
        self.assertEqual(self.ls_digests(), [])
        proc = self.strata("content", "get", digest, "-o", os.path.join(self.workdir, "x"),
                           expect=1)
        self.assertIn("NotFound", proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.workdir, "x")))

    def test_stdin_is_streamed_chunked(self):
        path = random_file(os.path.join(self.workdir, "piped.bin"), 6 << 20)
        with open(path, "rb") as f:
            proc = self.strata_binary("content", "ingest", "-", stdin=f)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stdout.decode().strip(), sha256_file(path))

    def test_wrong_digest_stores_nothing(self):
        path = random_file(os.path.join(self.workdir, "blob.bin"), 3 << 20)
        wrong = "sha256:" + "ab" * 32
        proc = self.strata("content", "ingest", "--digest", wrong, path, expect=1)
        self.assertIn("FailedPrecondition", proc.stderr)
        self.assertIn(wrong, proc.stderr)
        proc = self.strata("content", "ingest", "--size", "5", path, expect=1)
        self.assertIn("FailedPrecondition", proc.stderr)
        self.assertEqual(self.ls_digests(), [])
        self.assertEqual(self.leftover_ingests(), [])
        # The right digest goes through, and a second ingest of it is not sent again.
        right = sha256_file(path)
        for _ in range(2):
            proc = self.strata("content", "ingest", "--digest", right, path)
            self.assertEqual(proc.stdout.strip(), right)

    def test_labels(self):
        path = os.path.join(self.workdir, "small.txt")
        h.write_file(path, "hello labels\n")
        digest = self.strata("content", "ingest", "--label", "team=fs", "--label", "tmp=yes",
                             path).stdout.strip()
        self.assertEqual(self.ls_digests("labels.team==fs"), [digest])
        proc = self.strata("content", "label", digest, "purpose=test", "tmp=")
        self.assertEqual(proc.stdout.splitlines(), ["purpose=test", "team=fs"])
        self.assertEqual(self.ls_digests("labels.tmp"), [])
        self.assertEqual(self.ls_digests("labels.purpose==test"), [digest])
        row = self.strata("content", "ls").stdout.splitlines()[1].split()
        self.assertEqual(row[-1], "purpose=test,team=fs")
        info = json.loads(self.strata("content", "label", "--json", digest, "x=1").stdout)
        self.assertEqual(info["labels"], {"purpose": "test", "team": "fs", "x": "1"})
        proc = self.strata("content", "label", digest, "novalue", expect=2)
        self.assertIn("KEY=VALUE", proc.stderr)
        # The SDK's filter syntax: != and ~= work; a filter that does not parse is refused.
        self.assertEqual(self.ls_digests("labels.x!=1"), [])
        self.assertEqual(self.ls_digests("labels.x~=^1$,labels.team"), [digest])
        proc = self.strata("content", "ls", "labels.x=1", expect=1)
        self.assertIn("InvalidArgument", proc.stderr)

    def test_get_refuses_a_terminal(self):
        path = os.path.join(self.workdir, "small.bin")
        h.write_file(path, "\x00binary\x01")
        digest = self.strata("content", "ingest", path).stdout.strip()
        master, slave = pty.openpty()
        try:
            proc = subprocess.run([h.strata_cli(), "--address", self.daemon.socket, "content",
                                   "get", digest], stdin=subprocess.DEVNULL, stdout=slave,
                                  stderr=subprocess.PIPE, timeout=h.COMMAND_TIMEOUT)
        finally:
            os.close(slave)
            os.close(master)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn(b"-o FILE", proc.stderr)


class NoContentStoreTest(unittest.TestCase):
    def test_content_commands_say_why(self):
        workdir = h.make_workdir(self)
        daemon = h.Daemon(self, workdir, plugin_dirs=[os.path.join(workdir, "none")],
                          config=h.write_config(os.path.join(workdir, "config.toml"))).start()
        daemon.wait_ready()
        proc = h.cli(daemon, "content", "ls")
        self.assertEqual(proc.returncode, 1, h.describe(proc))
        self.assertIn("Unavailable", proc.stderr)
        self.assertIn("strata.content.v1", proc.stderr)
        status, body = h.http_get(daemon.socket, "/v1/content")
        self.assertEqual(status, 503, body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
