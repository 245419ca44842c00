"""The SDK as a third party uses it: install strata into a staging DESTDIR, build
examples/hello-snapshotter from the installed copy with its Makefile and pkg-config (no access to
the source tree), load the result into stratad, and run the installed
strata-snapshotter-conformance against it: every case must pass.
"""

import glob
import json
import os
import re
import shutil
import signal
import tempfile
import unittest

import harness as h

HELLO_URI = "strata.snapshotter.v1.hello"


class ExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One build for every test: installing and compiling is the slow part.
        t = unittest.TestCase()
        cls.workdir = tempfile.mkdtemp(prefix="strata-it-")
        cls.addClassCleanup(shutil.rmtree, cls.workdir, True)
        cls.build = h.build_example(t, os.path.join(cls.workdir, "build"))

    def start(self, extra_config=""):
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        h.install_plugin(self.build.plugin, plugins)
        config = h.write_config(os.path.join(workdir, "config.toml"), required=[HELLO_URI],
                                extra=extra_config)
        daemon = h.Daemon(self, workdir, plugin_dirs=[plugins], config=config).start()
        daemon.wait_ready()
        return daemon

    def hello(self, daemon):
        records = [r for r in h.plugins_json(self, daemon) if r["id"] == "hello"]
        self.assertEqual(len(records), 1, records)
        return records[0]

    def test_built_only_against_the_installed_sdk(self):
        self.assertIn(f"-I{self.build.destdir}", self.build.log)
        self.assertNotIn(os.environ.get("SOURCE_ROOT", "/nonexistent") + "/plugin-api",
                         self.build.log)

    def test_installed_sdk_holds_only_what_authors_use(self):
        # The host's own types stay out of the SDK: PluginRecord (the host's report on a plugin,
        # host/record) and http_status (host/api) are neither installed headers nor symbols of
        # libstrata-plugin.so.
        sdk = h.find_one(self, os.path.join(self.build.destdir, "**", "include", "strata",
                                            "plugin", "sdk.hpp"), "installed strata/plugin/sdk.hpp")
        headers = sorted(os.listdir(os.path.dirname(sdk)))
        self.assertIn("snapshotter.hpp", headers)
        self.assertNotIn("plugin_record.hpp", headers)
        with open(sdk) as f:
            self.assertNotIn("plugin_record", f.read())
        nm = shutil.which("nm")
        if not nm:
            h.unavailable("`nm` (binutils) is not installed")
        libs = sorted(glob.glob(os.path.join(self.build.destdir, "**", "libstrata-plugin.so.*"),
                                recursive=True))
        self.assertTrue(libs, "installed libstrata-plugin.so not found")
        proc = h.run([nm, "-D", "--defined-only", "-C", libs[0]])
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        self.assertIn("strata::parse_json", proc.stdout)  # the listing is the one we think
        for host_only in ("PluginRecord", "PluginStatus", "http_status"):
            self.assertNotIn(host_only, proc.stdout)

    def test_exports_only_the_abi(self):
        # -fvisibility=hidden and the SDK's plugin.map (found through pkg-config): the entry and
        # the toolchain marker are the plugin's whole interface, no weak std/Boost symbols.
        nm = shutil.which("nm")
        if not nm:
            h.unavailable("`nm` (binutils) is not installed")
        proc = h.run([nm, "-D", "--defined-only", self.build.plugin])
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        symbols = sorted(line.split()[-1] for line in proc.stdout.splitlines() if line.strip())
        self.assertEqual(len(symbols), 2, proc.stdout)
        self.assertRegex(symbols[0], r"^strata_plugin_v[0-9]+$")
        self.assertTrue(symbols[1].startswith("strata_toolchain_"), symbols)
        self.assertIn("--version-script=", self.build.log)

    def test_loads_ok_with_default_config(self):
        daemon = self.start()
        r = self.hello(daemon)
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual((r["type"], r["version"]), ("strata.snapshotter.v1", "0.1.0"))
        self.assertEqual(r["exports"], {"greeting": "hello"})
        self.assertEqual(len(r["platforms"]), 1, r)
        self.assertEqual(r["platforms"][0]["os"], "linux")
        self.assertEqual(r["file"], os.path.join(os.path.dirname(daemon.socket), "plugins",
                                                 "strata-snapshotter-hello.so"))
        # init created its own directory under the per-plugin root, with its own mode.
        root = os.path.join(daemon.root, HELLO_URI)
        self.assertTrue(os.path.isdir(os.path.join(root, "snapshots")), root)
        self.assertEqual(os.stat(root).st_mode & 0o777, 0o700)
        self.assertEqual(daemon.terminate(signal.SIGTERM), 0, daemon.describe())

    def test_operator_config_reaches_the_plugin(self):
        daemon = self.start(f'\n[plugins."{HELLO_URI}"]\ngreeting = "bonjour"\n')
        self.assertEqual(self.hello(daemon)["exports"], {"greeting": "bonjour"})
        # hello logs through the SDK's logger, never stderr: stratad writes the line under its id.
        self.assertRegex(daemon.stderr(), re.escape(f"[{HELLO_URI}] [info] bonjour, snapshots in "),
                         daemon.describe())
        self.assertEqual(daemon.terminate(signal.SIGTERM), 0, daemon.describe())

    def test_unknown_plugin_key_is_refused(self):
        # The plugin declared its keys; a typo in its section is an error with FILE:LINE:COL.
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        h.install_plugin(self.build.plugin, plugins)
        config = h.write_config(os.path.join(workdir, "config.toml"),
                                extra=f'\n[plugins."{HELLO_URI}"]\ngreting = "typo"\n')
        proc = h.run([h.stratad(), "config", "check", "--config", config, "--plugin-dir",
                      plugins])
        self.assertEqual(proc.returncode, 1, h.describe(proc))
        self.assertRegex(proc.stderr, re.escape(config) + r":6:\d+", h.describe(proc))
        self.assertIn("greting", proc.stderr)

    def test_installed_conformance_suite_passes(self):
        # What the README tells an author to run, from the installed SDK: the installed tool and
        # libraries (found by LD_LIBRARY_PATH here because the prefix is staged under a DESTDIR)
        # against hello built out of tree. hello forgets its snapshots when closed, so the
        # persistence case is off (--no-reopen), and it does not declare "rebase": those two skip,
        # every other case must pass.
        if os.geteuid() != 0:
            h.unavailable("the conformance cases mount snapshots, which needs root")
        tool = h.find_one(self, os.path.join(self.build.destdir, "**", "bin",
                                             "strata-snapshotter-conformance"),
                          "installed strata-snapshotter-conformance")
        libs = sorted(glob.glob(os.path.join(self.build.destdir, "**", "libstrata-plugin.so.*"),
                                recursive=True))
        self.assertTrue(libs, "installed libstrata-plugin.so not found")
        workdir = h.make_workdir(self)
        plugin = h.install_plugin(self.build.plugin, os.path.join(workdir, "plugins"))
        env = dict(os.environ, LD_LIBRARY_PATH=os.path.dirname(libs[0]))
        proc = h.run([tool, "--plugin", plugin, "--id", "hello", "--no-reopen"], timeout=1200,
                     env=env)
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        self.assertIn("conformance: strata.snapshotter.v1.hello from " + plugin, proc.stdout)
        passed = re.search(r"\[  PASSED  \] (\d+) tests?", proc.stdout)
        self.assertTrue(passed, h.describe(proc))
        # The summary lists each skipped case once, on a line of its own.
        skipped = sorted(re.findall(r"\[  SKIPPED \] \S*Conformance\.(\w+)\S*\n", proc.stdout))
        self.assertEqual(skipped, ["RebaseOnCommit", "ReopenKeepsSnapshots"], h.describe(proc))
        for case in ("WalkFilterTable", "UpdateLabelTable", "Chown", "RootPermission"):
            self.assertRegex(proc.stdout, r"\[       OK \] \S*Conformance\." + case + r"\b", case)
        self.assertNotIn("FAILED", proc.stdout)

    def test_packager_build_installs_the_conformance_tool(self):
        # A packager configures without the tests; the SDK (library, .pc, plugin.map) and the
        # conformance tool that authors run must still be installed. Configured only
        # (meson introspect reads the install plan), not built: this build tree already proves
        # the tool compiles.
        meson = shutil.which("meson")
        if not meson:
            h.unavailable("`meson` is not installed")
        source = h.env_path("SOURCE_ROOT", "the strata source tree")
        builddir = os.path.join(h.make_workdir(self), "build")
        proc = h.run([meson, "setup", builddir, source, "-Dtests=false"], timeout=300)
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        proc = h.run([meson, "introspect", builddir, "--installed"])
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        installed = [os.path.basename(p) for p in json.loads(proc.stdout).values()]
        for name in ("strata-snapshotter-conformance", "libstrata-plugin.so", "strata-plugin.pc",
                     "plugin.map"):
            self.assertIn(name, installed)
        proc = h.run([meson, "introspect", builddir, "--tests"])
        self.assertEqual(json.loads(proc.stdout), [], "-Dtests=false defines no tests")

    def test_inspect(self):
        proc = h.run([h.strata_cli(), "plugin", "inspect", self.build.plugin, "--json"])
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        info = json.loads(proc.stdout)
        self.assertTrue(info["loadable"], info)
        self.assertEqual(info["descriptor"]["type"], "strata.snapshotter.v1")
        self.assertEqual(info["descriptor"]["id"], "hello")
        self.assertEqual(info["descriptor"]["toolchain"], info["host"]["toolchain_tag"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
