"""Every failure mode of a plugin file, as an operator sees it: stratad starts anyway, and
`strata plugins ls` gives each file a status and a reason that names the cause.

One stratad loads a directory holding every fixture (tests/fixtures) and the out-of-tree example;
the test then reads the listing through the CLI (JSON, table, detailed, quiet) and through plain
HTTP, and checks that the fixtures that must be refused before any of their code runs never ran.
"""

import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import unittest

import harness as h

# Reasons of refusals and failures, as substrings (the exact wording is the host's).
INIT_ERROR_MESSAGE = "fixture: backing device /dev/nope not found"
SKIP_MESSAGE = "fixture: requires a btrfs filesystem"
# A symlink to fixture-ok.so in the same directory: the same file, loaded once.
ALIAS = "zz-alias-of-ok.so"
# A text file with a plugin's name: refused with a reason, never handed to the dynamic loader.
NOT_ELF = "not-elf.so"
# fixture-hang sleeps an hour in init; stratad gives up after this many seconds.
INIT_TIMEOUT_SECONDS = 1
ALL_FIELDS = {"type", "id", "version", "requires", "platforms", "exports", "capabilities",
              "status", "reason", "error_code", "file"}


def go_arch():
    """The OCI/Go architecture name of this machine, as Platform::host() reports it."""
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386",
            "ppc64le": "ppc64le", "s390x": "s390x", "riscv64": "riscv64"}.get(machine, machine)


class PluginStatusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One daemon for every check: starting it is the expensive part, and the checks only
        # read. Assertions made here fail the whole class, which is what a failed start means.
        t = unittest.TestCase()
        cls.workdir = tempfile.mkdtemp(prefix="strata-it-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.plugins = os.path.join(cls.workdir, "plugins")
        cls.markers = os.path.join(cls.workdir, "markers")
        os.makedirs(cls.markers)
        for mode in h.FIXTURES:
            h.install_plugin(h.fixture(mode), cls.plugins,
                             0o664 if mode == "group-writable" else 0o644)
        os.symlink("fixture-ok.so", os.path.join(cls.plugins, ALIAS))
        with open(os.path.join(cls.plugins, NOT_ELF), "w") as f:
            f.write("this is not a shared object\n")
        os.chmod(os.path.join(cls.plugins, NOT_ELF), 0o644)
        cls.example = None
        try:
            build = h.build_example(t, os.path.join(cls.workdir, "example"))
            cls.example = h.install_plugin(build.plugin, cls.plugins)
        except unittest.SkipTest as e:
            # Outside CI, a machine without make still gets every fixture checked.
            print(f"note: example not included: {e}", file=sys.stderr)
        config = h.write_config(os.path.join(cls.workdir, "config.toml"))
        # A short init timeout, so fixture-hang costs a second of startup instead of a minute.
        cls.daemon = h.Daemon(t, cls.workdir, plugin_dirs=[cls.plugins], config=config,
                              args=["--plugin-init-timeout", str(INIT_TIMEOUT_SECONDS)],
                              env={"STRATA_FIXTURE_MARKER_DIR": cls.markers})
        cls.daemon.start(add_cleanup=cls.addClassCleanup)
        t.assertEqual(cls.daemon.wait_ready(), {"status": "ok"})
        cls.records = h.plugins_json(t, cls.daemon)
        cls.by_file = h.records_by_file(t, cls.records, cls.plugins)

    # -- helpers ---------------------------------------------------------------------------

    def record(self, mode):
        name = f"fixture-{mode}.so"
        self.assertIn(name, self.by_file,
                      f"no record for {name}; records:\n{json.dumps(self.records, indent=1)}")
        return self.by_file[name]

    def path(self, mode):
        return os.path.join(self.plugins, f"fixture-{mode}.so")

    def assert_refused_file(self, mode, *substrings, code=None):
        """A file refused before its type and id are known: type "", id = file name."""
        r = self.record(mode)
        self.assertEqual(r["status"], "error", r)
        self.assertEqual(r["type"], "", r)
        self.assertEqual(r["id"], f"fixture-{mode}.so", r)
        self.assertIn(self.path(mode), r["reason"], "the reason must name the file")
        self.assertNotEqual(r["error_code"], "", r)
        if code:
            self.assertEqual(r["error_code"], code, r)
        for s in substrings:
            self.assertIn(s, r["reason"], r)
        return r

    def assert_failed_plugin(self, mode, plugin_id, *substrings, code=None):
        """A plugin whose type and id are known and that is reported as error."""
        r = self.record(mode)
        self.assertEqual(r["status"], "error", r)
        self.assertEqual((r["type"], r["id"]), ("strata.internal.v1", plugin_id), r)
        self.assertNotEqual(r["error_code"], "", r)
        if code:
            self.assertEqual(r["error_code"], code, r)
        for s in substrings:
            self.assertIn(s, r["reason"], r)
        return r

    # -- the listing -----------------------------------------------------------------------

    def test_every_file_has_one_complete_record(self):
        files = sorted(f for f in os.listdir(self.plugins) if f != ALIAS)
        self.assertEqual(sorted(self.by_file), files)
        for r in self.records:
            self.assertEqual(set(r), ALL_FIELDS, r)
            self.assertIn(r["status"], ("ok", "skip", "error"), r)
            if r["status"] == "ok":
                self.assertEqual((r["reason"], r["error_code"]), ("", ""), r)
            else:
                self.assertNotEqual(r["reason"], "", r)

    def test_symlink_to_a_plugin_loads_it_once(self):
        self.assertNotIn(ALIAS, self.by_file)
        self.assertEqual(self.record("ok")["status"], "ok")
        uris = [(r["type"], r["id"]) for r in self.records]
        self.assertEqual(uris.count(("strata.internal.v1", "fixture-ok")), 1, self.records)

    def test_not_elf(self):
        r = self.by_file[NOT_ELF]
        self.assertEqual(r["status"], "error", r)
        self.assertIn("not an ELF shared object", r["reason"], r)
        self.assertIn(os.path.join(self.plugins, NOT_ELF), r["reason"], r)
        self.assertIn("fix:", r["reason"], r)

    def test_ok(self):
        r = self.record("ok")
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual((r["type"], r["id"], r["version"]),
                         ("strata.internal.v1", "fixture-ok", "1.0.0"))
        self.assertEqual(r["exports"], {"fixture": "fixture-ok"})
        self.assertEqual(r["file"], self.path("ok"))

    def test_no_entry(self):
        self.assert_refused_file("no-entry", "no strata_plugin_v2")

    def test_abi_major(self):
        r = self.assert_refused_file("abi-major", "ABI major 3")
        # ...and what the host wants instead.
        self.assertRegex(r["reason"], r"ABI major 2\b|strata_plugin_v2\b")

    def test_toolchain(self):
        r = self.assert_refused_file("toolchain", "toolchain")
        self.assertIn("clang", r["reason"], "the reason must show the plugin's toolchain")

    def test_group_writable(self):
        self.assert_refused_file("group-writable", "writable by group")

    def test_init_error(self):
        self.assert_failed_plugin("init-error", "fixture-init-error", INIT_ERROR_MESSAGE,
                                  code="FailedPrecondition")

    def test_init_throws(self):
        # The SDK turns the exception into an Internal error inside the plugin.
        self.assert_failed_plugin("init-throws", "fixture-init-throws", "fixture: boom",
                                  code="Internal")

    def test_registers_nothing(self):
        r = self.record("registers-nothing")
        self.assertEqual(r["status"], "error", r)
        self.assertIn("did not register", r["reason"])
        self.assertIn(r["id"], ("fixture-registers-nothing", "fixture-registers-nothing.so"))

    def test_duplicate(self):
        # Files load in sorted order, so -a registers first and -b is refused naming both.
        a = self.record("duplicate-a")
        self.assertEqual(a["status"], "ok", a)
        self.assertEqual(a["exports"], {"fixture": "fixture-duplicate-a"})
        b = self.assert_failed_plugin("duplicate-b", "fixture-duplicate",
                                      self.path("duplicate-a"), self.path("duplicate-b"))
        self.assertEqual(b["version"], "1.0.0-b")

    def test_cycle(self):
        for mode in ("cycle-a", "cycle-b"):
            self.assert_failed_plugin(mode, f"fixture-{mode}", "cycle",
                                      "strata.internal.v1.fixture-cycle-a",
                                      "strata.internal.v1.fixture-cycle-b")
        self.assertEqual(self.record("cycle-a")["requires"],
                         ["strata.internal.v1.fixture-cycle-b"])

    def test_missing_dependency(self):
        self.assert_failed_plugin("missing-dep", "fixture-missing-dep",
                                  "strata.service.v1.nonexistent")

    def test_cascade(self):
        # Failed because of its dependency, and the reason carries the root cause.
        self.assert_failed_plugin("cascade", "fixture-cascade",
                                  "strata.internal.v1.fixture-init-error", INIT_ERROR_MESSAGE)

    def test_skip(self):
        r = self.record("skip")
        self.assertEqual(r["status"], "skip", r)
        self.assertEqual((r["type"], r["id"]), ("strata.internal.v1", "fixture-skip"))
        self.assertIn(SKIP_MESSAGE, r["reason"])
        self.assertEqual(r["error_code"], "", r)

    def test_hang(self):
        # Abandoned after the init timeout; stratad served anyway (setUpClass saw it ready).
        self.assert_failed_plugin("hang", "fixture-hang", h.INIT_TIMEOUT_REASON,
                                  code="DeadlineExceeded")

    def test_example(self):
        if not self.example:
            h.unavailable("the out-of-tree example could not be built")
        r = self.by_file[os.path.basename(self.example)]
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual((r["type"], r["id"]), ("strata.snapshotter.v1", "hello"))
        self.assertEqual(r["exports"], {"greeting": "hello"})
        self.assertEqual(r["platforms"], [{"os": "linux", "architecture": go_arch()}])

    def test_refused_files_never_ran(self):
        # The control: the same files do write their marker when something dlopen()s them, so
        # an empty marker directory means the host never opened them.
        control = os.path.join(self.workdir, "control-markers")
        os.makedirs(control, exist_ok=True)
        h.load_in_child(self, h.fixture("no-entry"), control)
        self.assertEqual(os.listdir(control), ["no-entry.marker"])
        # Fixtures that do run write nothing at load, so any marker is a refused file that ran.
        self.assertEqual(sorted(os.listdir(self.markers)), [],
                         "stratad ran code of files it must refuse unopened")

    # -- the same data through other outputs -----------------------------------------------

    def test_http_matches_cli_json(self):
        status, body = h.http_get(self.daemon.socket, "/v1/plugins")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), self.records)
        curl = shutil.which("curl")
        if not curl:
            h.unavailable("`curl` is not installed")
        proc = h.run([curl, "--silent", "--show-error", "--fail", "--max-time", "10",
                      "--unix-socket", self.daemon.socket, "http://strata/v1/plugins"])
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        self.assertEqual(json.loads(proc.stdout), self.records)

    def test_http_errors_are_json(self):
        status, body = h.http_get(self.daemon.socket, "/v1/no-such-thing")
        self.assertEqual(status, 404)
        error = json.loads(body)
        self.assertEqual(set(error), {"code", "message"}, error)
        self.assertEqual(error["code"], "NotFound")

    def test_table_lists_every_plugin(self):
        proc = h.cli(self.daemon, "plugins", "ls")
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        lines = proc.stdout.splitlines()
        self.assertRegex(lines[0], r"^TYPE\s+ID\s+PLATFORMS\s+STATUS\s*$")
        for r in self.by_file.values():
            rows = [ln for ln in lines[1:] if r["id"] in ln.split()]
            self.assertTrue(any(row.split()[-1] == r["status"] for row in rows),
                            f"no table row with id {r['id']} and status {r['status']}:\n"
                            f"{proc.stdout}")

    def test_detailed_shows_reasons(self):
        proc = h.cli(self.daemon, "plugins", "ls", "--detailed")
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        for r in self.by_file.values():
            if r["status"] != "ok":
                self.assertIn(r["reason"], proc.stdout)
            self.assertIn(r["file"], proc.stdout)

    def test_quiet_and_filters(self):
        proc = h.cli(self.daemon, "plugins", "ls", "-q")
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        self.assertEqual(sorted(proc.stdout.split()), sorted(r["id"] for r in self.records))
        proc = h.cli(self.daemon, "plugins", "ls", "--json", "status==skip")
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        self.assertEqual([r["id"] for r in json.loads(proc.stdout)], ["fixture-skip"])

    def test_zz_sigterm_exits_zero(self):
        # Named to run last (unittest sorts test names): it stops the shared daemon.
        rc = self.daemon.terminate(signal.SIGTERM)
        self.assertEqual(rc, 0, self.daemon.describe())


if __name__ == "__main__":
    unittest.main(verbosity=2)
