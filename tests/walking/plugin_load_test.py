"""strata-differ-walking.so in a real stratad next to the content store: it initialises `ok`,
names the store it uses, reports stream processors that cannot run (relative or missing
binaries) and its effective gzip decoder and decompress thread setting in its exports at start,
and refuses a bad value with the key in the reason.
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "integration"))
import harness as h  # noqa: E402

SECTION = '[plugins."strata.differ.v1.walking"]\n'


def walking_record(test, daemon):
    status, body = h.http_get(daemon.socket, "/v1/plugins")
    test.assertEqual(status, 200, body)
    mine = [r for r in json.loads(body)
            if r.get("type") == "strata.differ.v1" and r.get("id") == "walking"]
    test.assertEqual(len(mine), 1, f"{body}\n{daemon.describe()}")
    return mine[0]


class WalkingPluginLoadTest(unittest.TestCase):
    def start(self, extra):
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        for env in ("CONTENT_PLUGIN", "WALKING_PLUGIN"):
            h.install_plugin(h.env_path(env, "a built plugin"), plugins, 0o644)
        config = h.write_config(os.path.join(workdir, "config.toml"), extra=extra)
        daemon = h.Daemon(self, workdir, plugin_dirs=[plugins], config=config).start()
        daemon.wait_ready()
        return daemon

    def test_ok_with_processors_reported(self):
        daemon = self.start(
            SECTION +
            '[plugins."strata.differ.v1.walking".stream_processors.gunzip]\n'
            'accepts = ["application/x-test"]\nreturns = "application/vnd.oci.image.layer.v1.tar"\n'
            'path = "/usr/bin/gzip"\nargs = ["-d"]\n'
            '[plugins."strata.differ.v1.walking".stream_processors.relative]\n'
            'accepts = ["application/x-other"]\nreturns = "application/vnd.oci.image.layer.v1.tar"\n'
            'path = "bin/decrypt"\n')
        r = walking_record(self, daemon)
        self.assertEqual(r["status"], "ok", f"{r}\n{daemon.describe()}")
        self.assertEqual(r["exports"]["content"], "strata.content.v1.content")
        self.assertEqual(r["exports"]["stream_processors"], "gunzip")
        self.assertIn("relative", r["exports"]["stream_processors_unavailable"])
        self.assertIn("absolute", r["exports"]["stream_processors_unavailable"])
        # The defaults: ISA-L when the build has it (scripts/setup.sh installs libisal-dev),
        # otherwise the zlib it falls back to; threaded.
        expected = "isal" if os.environ.get("ISAL_BUILT_IN") == "1" else "zlib"
        self.assertEqual(r["exports"]["gzip_decoder"], expected)
        self.assertEqual(r["exports"]["decompress_thread"], "true")

    def test_plain_decoder_inline(self):
        daemon = self.start(SECTION + 'gzip_decoder = "zlib"\ndecompress_thread = false\n')
        r = walking_record(self, daemon)
        self.assertEqual(r["status"], "ok", f"{r}\n{daemon.describe()}")
        self.assertEqual(r["exports"]["gzip_decoder"], "zlib")
        self.assertEqual(r["exports"]["decompress_thread"], "false")

    def test_unknown_gzip_decoder_is_an_error_naming_key_and_values(self):
        daemon = self.start(SECTION + 'gzip_decoder = "libdeflate"\n')
        r = walking_record(self, daemon)
        self.assertEqual(r["status"], "error", r)
        self.assertIn("gzip_decoder", r["reason"])
        self.assertIn('"isal" or "zlib"', r["reason"])

    def test_bad_value_is_an_error_naming_the_key(self):
        daemon = self.start(SECTION + 'xattr_errors = "sometimes"\n')
        r = walking_record(self, daemon)
        self.assertEqual(r["status"], "error", r)
        self.assertIn("xattr_errors", r["reason"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
