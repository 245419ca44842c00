"""strata.service.v1.diff as an operator meets it: a real stratad loads the service and fake
differs (tests/diffservice/fake_*.cpp) from one plugin directory, and `strata plugins ls` shows
the differ order in effect in the service's exports, or the service as an error naming the
configured differs that are missing and the ones that are available.

A configured differ that is not available is left out of the order and listed in the export
"unavailable" with its reason; only when no configured differ is available does the service
fail (FailedPrecondition). The fakes: notimpl (always NotImplemented), fails (always Internal
"boom"), works (always succeeds), skips (skips itself at init).
"""

import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "integration"))
import harness as h  # noqa: E402

SERVICE = ("strata.service.v1", "diff")
SERVICE_FILE = "strata-service-diff.so"
FAKES = ["notimpl", "fails", "works", "skips"]
SECTION = '[plugins."strata.service.v1.diff"]\n'
MISSING_FIX = "no plugin strata.differ.v1.missing is loaded"
SKIP_REASON = "fake: needs a kernel feature this test pretends is missing"


def fake_file(behaviour):
    return f"strata-differ-fake-{behaviour}.so"


class DiffServiceTest(unittest.TestCase):
    def start(self, section, extra_plugins=(), disabled=()):
        """A stratad whose plugin directory holds the service, every fake and `extra_plugins`,
        with `section` (TOML lines, or None for no section) as the service's config and
        `disabled` as disabled_plugins. Returns (daemon, {file name: record})."""
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        h.install_plugin(h.env_path("DIFF_SERVICE_PLUGIN", "the diff service module"), plugins)
        fake_dir = h.env_path("DIFFSERVICE_FAKE_DIR", "the directory of the fake differs")
        for b in FAKES:
            path = os.path.join(fake_dir, fake_file(b))
            if not os.path.exists(path):
                h.unavailable(f"{path} is missing; build tests/diffservice first")
            h.install_plugin(path, plugins)
        for p in extra_plugins:
            h.install_plugin(p, plugins)
        extra = "" if section is None else SECTION + section
        config = h.write_config(os.path.join(workdir, "config.toml"), disabled=disabled,
                                extra=extra)
        daemon = h.Daemon(self, workdir, plugin_dirs=[plugins], config=config).start()
        self.assertEqual(daemon.wait_ready(), {"status": "ok"})
        records = h.plugins_json(self, daemon)
        return daemon, h.records_by_file(self, records, plugins)

    def service(self, by_file):
        self.assertIn(SERVICE_FILE, by_file, json.dumps(by_file, indent=1))
        r = by_file[SERVICE_FILE]
        self.assertEqual((r["type"], r["id"]), SERVICE, r)
        self.assertEqual(r["requires"], ["strata.differ.v1.*"], r)
        return r

    def assert_ok(self, r):
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual((r["reason"], r["error_code"]), ("", ""), r)

    def test_configured_order_is_exported(self):
        daemon, by_file = self.start('default = ["notimpl", "works"]\n')
        r = self.service(by_file)
        self.assert_ok(r)
        self.assertEqual(r["exports"], {"order": "notimpl,works", "sync_fs": "false"})
        for b in ("notimpl", "fails", "works"):
            self.assertEqual(by_file[fake_file(b)]["status"], "ok", by_file[fake_file(b)])
        self.assertEqual(by_file[fake_file("skips")]["status"], "skip")
        # The operator's view: the detailed listing shows the order.
        proc = h.cli(daemon, "plugins", "ls", "--detailed")
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        self.assertIn("order=notimpl,works", proc.stdout, h.describe(proc))

    def test_order_is_the_configured_one_not_the_load_order(self):
        _, by_file = self.start('default = ["works", "fails", "notimpl"]\nsync_fs = true\n')
        r = self.service(by_file)
        self.assert_ok(r)
        self.assertEqual(r["exports"], {"order": "works,fails,notimpl", "sync_fs": "true"})

    def test_unavailable_differs_are_left_out_and_reported(self):
        _, by_file = self.start('default = ["missing", "skips", "fails", "works"]\n')
        r = self.service(by_file)
        self.assert_ok(r)
        self.assertEqual(r["exports"]["order"], "fails,works", r)
        unavailable = r["exports"].get("unavailable", "")
        self.assertTrue(unavailable.startswith("missing: "), r)
        self.assertIn(MISSING_FIX, unavailable, r)
        self.assertIn("; skips: ", unavailable, r)
        self.assertIn(SKIP_REASON, unavailable, r)

    def test_disabled_differ_is_left_out_and_reported(self):
        _, by_file = self.start('default = ["notimpl", "works"]\n',
                                disabled=["strata.differ.v1.notimpl"])
        r = self.service(by_file)
        self.assert_ok(r)
        self.assertEqual(r["exports"]["order"], "works", r)
        self.assertIn("notimpl: no plugin strata.differ.v1.notimpl is loaded",
                      r["exports"].get("unavailable", ""), r)
        self.assertIn("disabled_plugins", r["exports"]["unavailable"], r)

    def test_no_configured_differ_available_is_an_error_naming_them(self):
        _, by_file = self.start('default = ["missing", "skips"]\n')
        r = self.service(by_file)
        self.assertEqual(r["status"], "error", r)
        self.assertEqual(r["error_code"], "FailedPrecondition", r)
        self.assertEqual(r["exports"], {}, r)
        reason = r["reason"]
        self.assertIn(MISSING_FIX, reason, r)
        self.assertIn(SKIP_REASON, reason, r)
        available = reason.split("available differs: ", 1)[1].split(";", 1)[0]
        self.assertEqual(sorted(available.split(", ")), ["fails", "notimpl", "works"], r)
        self.assertIn("fix:", reason, r)

    def test_default_order_without_walking_is_an_error_naming_walking(self):
        _, by_file = self.start(None)
        r = self.service(by_file)
        self.assertEqual(r["status"], "error", r)
        self.assertIn("walking: no plugin strata.differ.v1.walking is loaded", r["reason"], r)

    def test_bad_values_are_refused_naming_the_key(self):
        _, by_file = self.start('default = ["works", "works"]\n')
        r = self.service(by_file)
        self.assertEqual((r["status"], r["error_code"]), ("error", "InvalidArgument"), r)
        self.assertIn('lists "works" twice', r["reason"], r)

        _, by_file = self.start('default = "works"\n')
        r = self.service(by_file)
        self.assertEqual((r["status"], r["error_code"]), ("error", "InvalidArgument"), r)
        self.assertIn("default", r["reason"], r)

    def test_default_config_with_the_walking_differ(self):
        # No section at all: the declared default ["walking"], served by the real walking differ
        # (which needs a content store).
        paths = [os.environ.get("WALKING_PLUGIN", ""), os.environ.get("CONTENT_PLUGIN", "")]
        if not all(paths) or not all(os.path.exists(p) for p in paths):
            h.unavailable("the walking differ and content store modules are not built here")
        _, by_file = self.start(None, extra_plugins=paths)
        r = self.service(by_file)
        self.assert_ok(r)
        self.assertEqual(r["exports"], {"order": "walking", "sync_fs": "false"})


if __name__ == "__main__":
    unittest.main(verbosity=2)
