"""strata-snapshotter-overlayfs.so in a real stratad: it probes overlay under its root and
initialises `ok` with the rebase capability and its root exported; operator config with the
declared keys (a non-empty mount_options list included) is accepted; an unknown key is an error
naming the key. Needs root (overlay mounts); skips otherwise.
"""

import json
import os
import stat
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "integration"))
import harness as h  # noqa: E402

SECTION = '[plugins."strata.snapshotter.v1.overlayfs"]\n'


def overlay_record(test, daemon):
    status, body = h.http_get(daemon.socket, "/v1/plugins")
    test.assertEqual(status, 200, body)
    mine = [r for r in json.loads(body)
            if r.get("type") == "strata.snapshotter.v1" and r.get("id") == "overlayfs"]
    test.assertEqual(len(mine), 1, f"{body}\n{daemon.describe()}")
    return mine[0]


@unittest.skipUnless(os.geteuid() == 0, "the overlay snapshotter needs root to mount overlays")
class OverlayPluginLoadTest(unittest.TestCase):
    def start(self, extra=""):
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        h.install_plugin(h.env_path("OVERLAY_PLUGIN", "the built overlay plugin"), plugins, 0o644)
        config = h.write_config(os.path.join(workdir, "config.toml"), extra=extra)
        daemon = h.Daemon(self, workdir, plugin_dirs=[plugins], config=config).start()
        daemon.wait_ready()
        return daemon

    def test_ok_with_capabilities_and_root(self):
        daemon = self.start(SECTION + 'mount_options = ["redirect_dir=off"]\n'
                            'upperdir_label = true\nsync_remove = true\n')
        r = overlay_record(self, daemon)
        if r["status"] == "skip":
            self.skipTest(f"overlay unsupported here: {r.get('reason')}")
        self.assertEqual(r["status"], "ok", f"{r}\n{daemon.describe()}")
        self.assertIn("rebase", r["capabilities"])
        root = r["exports"]["root"]
        self.assertEqual(root, os.path.join(daemon.root, "strata.snapshotter.v1.overlayfs"))
        self.assertEqual(stat.S_IMODE(os.stat(root).st_mode), 0o700)
        self.assertEqual(sorted(os.listdir(root)),
                         ["metadata.db", "metadata.db-shm", "metadata.db-wal", "snapshots"]
                         if os.path.exists(os.path.join(root, "metadata.db-wal"))
                         else ["metadata.db", "snapshots"],
                         "the probe leaves nothing behind")

    def test_unknown_key_is_an_error_naming_it(self):
        daemon = self.start(SECTION + 'root_path = "/elsewhere"\n')
        r = overlay_record(self, daemon)
        self.assertEqual(r["status"], "error", r)
        self.assertIn("root_path", r["reason"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
