"""Plugin log lines reach stratad's log with the plugin's "<type>.<id>", at --log-level.

fixture-logs (tests/fixtures/logs.cpp) logs through InitContext::logger() at every level during
init, from a thread of its own, and in close() after init; its exports say which levels its
logger reported enabled. The overlay snapshotter, a first-party plugin, logs the orphan snapshot
directories it removes at start; there every line stratad wrote to stderr must be one of its
log lines, so nothing a plugin printed by itself can hide in between.
"""

import http.client
import os
import re
import sys
import time
import unittest

import harness as h

FIXTURE_URI = "strata.internal.v1.fixture-logs"
OVERLAY_URI = "strata.snapshotter.v1.overlayfs"
LEVELS = ["trace", "debug", "info", "warn", "error"]
# spdlog's names of the levels, as the lines show them.
SHOWN = {"trace": "trace", "debug": "debug", "info": "info", "warn": "warning", "error": "error"}
# stratad's line format: "[2026-01-02 03:04:05.678] [<logger name>] [<level>] <message>".
LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[([^\]]+)\] "
                  r"\[(trace|debug|info|warning|error|critical)\] (.*)$")


def log_lines(text):
    """[(logger name, level, message)] of stratad's stderr, in order."""
    return [m.groups() for m in map(LINE.match, text.splitlines()) if m]


def wait_healthy(test, daemon):
    """Like Daemon.wait_ready for levels above info, where no "stratad ready" line is written."""
    deadline = time.monotonic() + h.STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        rc = daemon.proc.poll()
        if rc is not None:
            test.fail(f"stratad exited with {rc} before it was ready\n{daemon.describe()}")
        try:
            if h.http_get(daemon.socket, "/v1/health", timeout=2.0)[0] == 200:
                return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.05)
    test.fail(f"stratad did not answer /v1/health within {h.STARTUP_TIMEOUT:.0f}s\n"
              f"{daemon.describe()}")


def daemon_at(test, workdir, plugin_dirs, level, config=None):
    """A stratad on `plugin_dirs` logging at `level` (the harness default is debug)."""
    d = h.Daemon(test, workdir, plugin_dirs=plugin_dirs, config=config)
    d.argv[d.argv.index("--log-level") + 1] = level
    return d


class FixtureLogTest(unittest.TestCase):
    def run_fixture(self, level):
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        h.install_plugin(h.fixture("logs"), plugins)
        config = h.write_config(os.path.join(workdir, "config.toml"), required=[FIXTURE_URI])
        daemon = daemon_at(self, workdir, [plugins], level, config).start()
        wait_healthy(self, daemon)
        record = [r for r in h.plugins_json(self, daemon)
                  if f"{r['type']}.{r['id']}" == FIXTURE_URI]
        self.assertEqual(len(record), 1, daemon.describe())
        self.assertEqual(record[0]["status"], "ok", record[0])
        self.assertEqual(daemon.terminate(), 0, daemon.describe())
        return daemon, record[0]["exports"]["enabled_levels"].split(",")

    def assert_fixture_lines(self, daemon, shown_levels):
        lines = log_lines(daemon.stderr())
        mine = [(level, msg) for name, level, msg in lines if name == FIXTURE_URI]
        expected = [(SHOWN[lv], f"init at {lv}") for lv in shown_levels]
        self.assertEqual([x for x in mine if x[1].startswith("init at ")], expected,
                         daemon.describe())
        # From a thread of the plugin's own; braces are text, not a format string.
        self.assertIn(("warning", "from another thread {}"), mine, daemon.describe())
        # After init, from the logger the instance kept: close() at SIGTERM.
        if "info" in shown_levels:
            self.assertIn(("info", "close, after init"), mine, daemon.describe())
        # The plugin's lines are its own: none of them appears under stratad's name.
        for name, _, msg in lines:
            if "init at " in msg or "from another thread" in msg or "close, after init" in msg:
                self.assertEqual(name, FIXTURE_URI, daemon.describe())

    def test_info_level_shows_info_and_above_with_the_uri(self):
        daemon, enabled = self.run_fixture("info")
        self.assertEqual(enabled, ["info", "warn", "error"])
        self.assert_fixture_lines(daemon, ["info", "warn", "error"])

    def test_trace_level_shows_every_line(self):
        daemon, enabled = self.run_fixture("trace")
        self.assertEqual(enabled, LEVELS)
        self.assert_fixture_lines(daemon, LEVELS)

    def test_error_level_shows_errors_only(self):
        daemon, enabled = self.run_fixture("error")
        self.assertEqual(enabled, ["error"])
        lines = [(lv, msg) for name, lv, msg in log_lines(daemon.stderr()) if name == FIXTURE_URI]
        self.assertEqual(lines, [("error", "init at error")], daemon.describe())


class OverlayLogTest(unittest.TestCase):
    def test_orphan_directories_removed_at_start_are_logged_with_the_uri(self):
        plugin = h.overlay_plugin()
        if os.geteuid() != 0:
            print("SKIP: the overlay snapshotter needs root to probe overlay", file=sys.stderr)
            raise unittest.SkipTest("the overlay snapshotter needs root to probe overlay")
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        h.install_plugin(plugin, plugins)
        config = h.write_config(os.path.join(workdir, "config.toml"))
        daemon = daemon_at(self, workdir, [plugins], "info", config)
        # Directories no snapshot owns, as a crash mid-create leaves them: removed at start.
        snapshots = os.path.join(daemon.root, OVERLAY_URI, "snapshots")
        orphans = [os.path.join(snapshots, n) for n in ("new-7", "123")]
        for o in orphans:
            os.makedirs(os.path.join(o, "fs"))
        daemon.start()
        daemon.wait_ready()
        record = [r for r in h.plugins_json(self, daemon)
                  if f"{r['type']}.{r['id']}" == OVERLAY_URI]
        self.assertEqual(len(record), 1, daemon.describe())
        if record[0]["status"] == "skip":
            # No overlayfs here (the plugin says why); its start-up repair never ran.
            print(f"SKIP: {record[0]['reason']}", file=sys.stderr)
            raise unittest.SkipTest(record[0]["reason"])
        self.assertEqual(record[0]["status"], "ok", record[0])
        self.assertEqual(daemon.terminate(), 0, daemon.describe())

        stderr = daemon.stderr()
        lines = log_lines(stderr)
        for o in orphans:
            self.assertFalse(os.path.exists(o), o)
            self.assertIn((OVERLAY_URI, "info",
                           f"{os.path.dirname(snapshots)}: removed orphan {o}"), lines,
                          daemon.describe())
        # Every line on stderr is a log line: no plugin wrote there by itself.
        stray = [line for line in stderr.splitlines() if line and not LINE.match(line)]
        self.assertEqual(stray, [], daemon.describe())
        # stdout is stratad's (config dump prints there); a running daemon writes nothing to it.
        with open(daemon.stdout_path, encoding="utf-8", errors="replace") as f:
            self.assertEqual(f.read(), "")


if __name__ == "__main__":
    unittest.main(verbosity=2)
