"""strata-content-content.so in a real stratad: it loads, initialises, reports `ok` with its root
in the exports, and creates its directories private (0700).

Reuses tests/integration/harness.py for starting stratad and talking HTTP over its socket.
"""

import json
import os
import stat
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "integration"))
import harness as h  # noqa: E402


class ContentPluginLoadTest(unittest.TestCase):
    def test_loads_ok_with_root_export(self):
        plugin = h.env_path("CONTENT_PLUGIN", "the built strata-content-content.so")
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        h.install_plugin(plugin, plugins, 0o644)
        config = h.write_config(os.path.join(workdir, "config.toml"))
        daemon = h.Daemon(self, workdir, plugin_dirs=[plugins], config=config).start()
        daemon.wait_ready()

        status, body = h.http_get(daemon.socket, "/v1/plugins")
        self.assertEqual(status, 200, body)
        records = json.loads(body)
        mine = [r for r in records
                if r.get("type") == "strata.content.v1" and r.get("id") == "content"]
        self.assertEqual(len(mine), 1, f"records:\n{json.dumps(records, indent=1)}\n"
                                       f"{daemon.describe()}")
        r = mine[0]
        self.assertEqual(r["status"], "ok", f"{r}\n{daemon.describe()}")
        root = r["exports"]["root"]
        self.assertEqual(root, os.path.join(daemon.root, "strata.content.v1.content"))
        for sub in ("", "blobs/sha256", "labels", "ingest"):
            path = os.path.join(root, sub)
            mode = stat.S_IMODE(os.stat(path).st_mode)
            self.assertEqual(mode, 0o700, f"{path} has mode {oct(mode)}")


if __name__ == "__main__":
    unittest.main(verbosity=2)
