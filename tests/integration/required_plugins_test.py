"""required_plugins: stratad must not serve without a plugin the operator declared essential.

A required plugin that failed, was skipped, is disabled or does not exist stops stratad before it
serves, quickly, with a non-zero exit and the reason on stderr; a required plugin that loads
changes nothing.
"""

import os
import signal
import unittest

import harness as h

INIT_ERROR_MESSAGE = "fixture: backing device /dev/nope not found"


class RequiredPluginsTest(unittest.TestCase):
    def start(self, required=(), disabled=()):
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        for mode in ("ok", "init-error", "skip"):
            h.install_plugin(h.fixture(mode), plugins)
        config = h.write_config(os.path.join(workdir, "config.toml"), required=required,
                                disabled=disabled)
        return h.Daemon(self, workdir, plugin_dirs=[plugins], config=config).start()

    def assert_refuses_to_serve(self, daemon, *substrings):
        rc = daemon.wait_exit()
        self.assertNotEqual(rc, 0, daemon.describe())
        stderr = daemon.stderr()
        self.assertNotIn(h.READY_LINE, stderr, "stratad said ready although it must not serve")
        for s in substrings:
            self.assertIn(s, stderr, daemon.describe())
        self.assertFalse(self.serving(daemon), "the API answered after a failed start")

    def serving(self, daemon):
        try:
            h.http_get(daemon.socket, "/v1/health", timeout=1.0)
            return True
        except OSError:
            return False

    def test_required_plugin_failed(self):
        daemon = self.start(required=["strata.internal.v1.fixture-init-error"])
        self.assert_refuses_to_serve(daemon, "strata.internal.v1.fixture-init-error",
                                     INIT_ERROR_MESSAGE)

    def test_required_plugin_skipped(self):
        daemon = self.start(required=["strata.internal.v1.fixture-skip"])
        self.assert_refuses_to_serve(daemon, "strata.internal.v1.fixture-skip",
                                     "fixture: requires a btrfs filesystem")

    def test_required_plugin_missing(self):
        daemon = self.start(required=["strata.internal.v1.fixture-absent"])
        self.assert_refuses_to_serve(daemon, "strata.internal.v1.fixture-absent")

    def test_required_plugin_disabled(self):
        uri = "strata.internal.v1.fixture-ok"
        daemon = self.start(required=[uri], disabled=[uri])
        self.assert_refuses_to_serve(daemon, uri)

    def test_every_unmet_requirement_is_reported(self):
        # An operator fixing one problem per restart would need as many restarts as problems.
        daemon = self.start(required=["strata.internal.v1.fixture-init-error",
                                      "strata.internal.v1.fixture-absent"])
        self.assert_refuses_to_serve(daemon, "strata.internal.v1.fixture-init-error",
                                     "strata.internal.v1.fixture-absent")

    def test_required_plugin_ok(self):
        daemon = self.start(required=["strata.internal.v1.fixture-ok"])
        daemon.wait_ready()
        records = {r["id"]: r for r in h.plugins_json(self, daemon)}
        self.assertEqual(records["fixture-ok"]["status"], "ok")
        # Plugins that are not required may fail without stopping stratad.
        self.assertEqual(records["fixture-init-error"]["status"], "error")
        self.assertEqual(daemon.terminate(signal.SIGTERM), 0, daemon.describe())

    def test_sigint_exits_zero(self):
        daemon = self.start()
        daemon.wait_ready()
        self.assertEqual(daemon.terminate(signal.SIGINT), 0, daemon.describe())


if __name__ == "__main__":
    unittest.main(verbosity=2)
