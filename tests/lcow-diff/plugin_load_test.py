"""strata-differ-windows-lcow.so in a real stratad next to the content store: it initialises `ok`,
names the store it uses and serves linux on the host architecture; append_dm_verity = true and a
bad size are init errors naming the key.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "integration"))
import harness as h  # noqa: E402

SECTION = '[plugins."strata.differ.v1.windows-lcow"]\n'


def lcow_record(test, daemon):
    return h.plugin_record(test, daemon, "strata.differ.v1", "windows-lcow")


class LcowPluginLoadTest(unittest.TestCase):
    def start(self, extra=""):
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        for env in ("CONTENT_PLUGIN", "LCOW_PLUGIN"):
            h.install_plugin(h.env_path(env, "a built plugin"), plugins, 0o644)
        config = h.write_config(os.path.join(workdir, "config.toml"), extra=extra)
        daemon = h.Daemon(self, workdir, plugin_dirs=[plugins], config=config).start()
        daemon.wait_ready()
        return daemon

    def test_loads_ok_with_the_content_store(self):
        daemon = self.start()
        r = lcow_record(self, daemon)
        self.assertEqual(r["status"], "ok", f"{r}\n{daemon.describe()}")
        self.assertEqual(r["exports"]["content"], "strata.content.v1.content")
        self.assertEqual([p["os"] for p in r["platforms"]], ["linux"], r)

    def test_dm_verity_is_an_init_error_naming_the_key(self):
        daemon = self.start(SECTION + "append_dm_verity = true\n")
        r = lcow_record(self, daemon)
        self.assertEqual(r["status"], "error", r)
        self.assertIn("append_dm_verity", r["reason"])
        self.assertIn("not implemented", r["reason"])

    def test_bad_size_is_an_init_error_naming_the_key(self):
        daemon = self.start(SECTION + "max_image_bytes = 0\n")
        r = lcow_record(self, daemon)
        self.assertEqual(r["status"], "error", r)
        self.assertIn("max_image_bytes", r["reason"])


if __name__ == "__main__":
    unittest.main()
