"""Configuration as an operator meets it: stratad runs with no config file at all, points at the
exact line and column of a mistake, and `stratad config default|dump|check` print and validate
what it would run with.
"""

import json
import os
import re
import signal
import tomllib
import unittest

import harness as h

SYSTEM_CONFIG = "/etc/strata/config.toml"


class ConfigTest(unittest.TestCase):
    def stratad(self, *args):
        return h.run([h.stratad(), *args])

    def assert_config_error(self, path, text, line, *substrings):
        """`text` in `path` is refused by stratad and by `config check`, both with FILE:LINE:COL."""
        h.write_file(path, text)
        location = re.compile(re.escape(path) + f":{line}:" + r"\d+")
        workdir = os.path.dirname(path)
        daemon = h.Daemon(self, workdir, config=path).start()
        rc = daemon.wait_exit()
        self.assertEqual(rc, 1, daemon.describe())
        stderr = daemon.stderr()
        self.assertRegex(stderr, location, daemon.describe())
        self.assertNotIn(h.READY_LINE, stderr)
        for s in substrings:
            self.assertIn(s, stderr, daemon.describe())

        check = self.stratad("config", "check", "--config", path)
        self.assertEqual(check.returncode, 1, h.describe(check))
        self.assertRegex(check.stderr + check.stdout, location, h.describe(check))

    # -- no config file --------------------------------------------------------------------

    def test_runs_without_config_file(self):
        if os.path.exists(SYSTEM_CONFIG):
            self.skipTest(f"{SYSTEM_CONFIG} exists here, so stratad would read it")
        workdir = h.make_workdir(self)
        # Only the paths are overridden: they must not touch /var/lib or /run of this machine.
        daemon = h.Daemon(self, workdir).start()
        self.assertEqual(daemon.wait_ready(), {"status": "ok"})
        proc = h.cli(daemon, "plugins", "ls", "--json")
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        self.assertIsInstance(json.loads(proc.stdout), list)
        self.assertEqual(daemon.terminate(signal.SIGTERM), 0, daemon.describe())

    # -- errors point at FILE:LINE:COL -----------------------------------------------------

    def test_unknown_top_level_key(self):
        path = os.path.join(h.make_workdir(self), "config.toml")
        self.assert_config_error(path, 'version = 1\nrequired_plugins = []\nbogus_key = true\n',
                                 3, "bogus_key")

    def test_unknown_key_in_table(self):
        path = os.path.join(h.make_workdir(self), "config.toml")
        self.assert_config_error(path, 'version = 1\nrequired_plugins = []\n\n[api]\n'
                                 'adress = "/tmp/x.sock"\n', 5, "adress")

    def test_wrong_type(self):
        path = os.path.join(h.make_workdir(self), "config.toml")
        self.assert_config_error(path, 'version = 1\nroot = 5\nrequired_plugins = []\n', 2, "root")

    def test_relative_plugin_dir(self):
        path = os.path.join(h.make_workdir(self), "config.toml")
        self.assert_config_error(path, 'version = 1\nrequired_plugins = []\n'
                                 'plugin_dirs = ["relative/plugins"]\n', 3, "relative/plugins")

    def test_toml_syntax_error(self):
        path = os.path.join(h.make_workdir(self), "config.toml")
        self.assert_config_error(path, 'version = 1\nrequired_plugins = [\n', 2)

    # -- config default / dump / check -----------------------------------------------------

    def test_default_parses_and_checks(self):
        proc = self.stratad("config", "default")
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        config = tomllib.loads(proc.stdout)
        self.assertEqual(config["version"], 1)
        self.assertEqual(config["root"], "/var/lib/strata")
        self.assertEqual(config["state"], "/run/strata")
        self.assertEqual(config["api"]["address"], "/run/strata/strata.sock")
        self.assertIsInstance(config["plugin_dirs"], list)
        for d in config["plugin_dirs"]:
            self.assertTrue(os.path.isabs(d), d)

        path = h.write_file(os.path.join(h.make_workdir(self), "default.toml"), proc.stdout)
        check = self.stratad("config", "check", "--config", path)
        self.assertEqual(check.returncode, 0, h.describe(check))

    def test_dump_shows_overrides(self):
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        h.install_plugin(h.fixture("ok"), plugins)
        config = h.write_config(os.path.join(workdir, "config.toml"),
                                disabled=["strata.internal.v1.fixture-skip"])
        proc = self.stratad("config", "dump", "--config", config, "--plugin-dir", plugins)
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        dumped = tomllib.loads(proc.stdout)
        self.assertEqual(dumped["plugin_dirs"], [plugins])
        self.assertEqual(dumped["disabled_plugins"], ["strata.internal.v1.fixture-skip"])
        self.assertEqual(dumped["required_plugins"], [])
        # The dump is itself a valid config.
        path = h.write_file(os.path.join(workdir, "dump.toml"), proc.stdout)
        check = self.stratad("config", "check", "--config", path)
        self.assertEqual(check.returncode, 0, h.describe(check))

    def test_check_accepts_good_config(self):
        workdir = h.make_workdir(self)
        config = h.write_config(os.path.join(workdir, "config.toml"))
        proc = self.stratad("config", "check", "--config", config)
        self.assertEqual(proc.returncode, 0, h.describe(proc))


if __name__ == "__main__":
    unittest.main(verbosity=2)
