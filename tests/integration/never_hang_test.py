"""stratad never hangs on what it finds in a plugin directory: every fixture twice, files that
are not shared objects, a FIFO (open(2) of which blocks forever), symlinks, nested directories
and a plugin whose init never returns. Startup finishes within 10 s and SIGTERM still works.
"""

import os
import signal
import time
import unittest

import harness as h


class NeverHangTest(unittest.TestCase):
    def test_hostile_plugin_directories(self):
        workdir = h.make_workdir(self)
        dirs = [os.path.join(workdir, "plugins-a"), os.path.join(workdir, "plugins-b")]
        for d in dirs:
            for mode in h.FIXTURES:
                if mode not in h.HANGING:
                    h.install_plugin(h.fixture(mode), d)
        a = dirs[0]
        # Not plugins at all, but named like one.
        h.write_file(os.path.join(a, "empty.so"), "")
        h.write_file(os.path.join(a, "text.so"), "this is not an ELF file\n")
        with open(os.path.join(a, "garbage.so"), "wb") as f:
            f.write(b"\x7fELF" + os.urandom(4096))  # an ELF magic with nonsense behind it
        os.mkdir(os.path.join(a, "directory.so"))
        os.mkfifo(os.path.join(a, "fifo.so"))
        os.symlink(os.path.join(a, "fifo.so"), os.path.join(a, "link-to-fifo.so"))
        os.symlink(os.path.join(a, "missing.so"), os.path.join(a, "dangling.so"))
        os.symlink("loop.so", os.path.join(a, "loop.so"))
        # Plugin directories are not searched recursively.
        h.install_plugin(h.fixture("ok"), os.path.join(a, "nested"))
        for name in os.listdir(a):
            if os.path.isfile(os.path.join(a, name)) and not os.path.islink(os.path.join(a, name)):
                os.chmod(os.path.join(a, name), 0o644)

        started = time.monotonic()
        daemon = h.Daemon(self, workdir, plugin_dirs=dirs,
                          config=h.write_config(os.path.join(workdir, "config.toml"))).start()
        daemon.wait_ready(timeout=h.STARTUP_TIMEOUT)
        elapsed = time.monotonic() - started
        records = h.plugins_json(self, daemon)

        files = {r["file"] for r in records}
        for d in dirs:
            for name in os.listdir(d):
                path = os.path.join(d, name)
                if os.path.isfile(path) and not os.path.islink(path) and name.endswith(".so"):
                    self.assertIn(path, files, f"no record for {path}")
        self.assertNotIn(os.path.join(a, "nested", "fixture-ok.so"), files)
        for r in records:
            if os.path.basename(r["file"]) in ("empty.so", "text.so", "garbage.so", "fifo.so",
                                               "link-to-fifo.so", "directory.so"):
                self.assertEqual(r["status"], "error", r)
                self.assertIn(r["file"], r["reason"], "the reason must name the file")
        # Second copies lose to the first: every URI is ok at most once.
        ok = [f"{r['type']}.{r['id']}" for r in records if r["status"] == "ok"]
        self.assertEqual(len(ok), len(set(ok)), ok)

        self.assertEqual(daemon.terminate(signal.SIGTERM), 0, daemon.describe())
        print(f"startup took {elapsed:.2f}s for {len(records)} records")

    def start_with_hanging_init(self, *args):
        workdir = h.make_workdir(self)
        plugins = os.path.join(workdir, "plugins")
        for mode in ("ok", "hang"):
            h.install_plugin(h.fixture(mode), plugins)
        return h.Daemon(self, workdir, plugin_dirs=[plugins], args=args,
                        config=h.write_config(os.path.join(workdir, "config.toml"))).start()

    def test_init_timeout(self):
        daemon = self.start_with_hanging_init("--plugin-init-timeout", "1")
        daemon.wait_ready()
        records = {r["id"]: r for r in h.plugins_json(self, daemon)}
        hung = records["fixture-hang"]
        self.assertEqual(hung["status"], "error", hung)
        self.assertIn(h.INIT_TIMEOUT_REASON, hung["reason"], hung)
        self.assertEqual(records["fixture-ok"]["status"], "ok")
        # The stuck init thread must not keep stratad from exiting.
        self.assertEqual(daemon.terminate(signal.SIGTERM), 0, daemon.describe())

    def test_sigterm_during_startup(self):
        # With the default 60 s init timeout, startup is stuck in fixture-hang when SIGTERM comes.
        daemon = self.start_with_hanging_init()
        time.sleep(1.0)
        self.assertIsNone(daemon.proc.poll(), daemon.describe())
        # The stop is noticed while the init is still stuck: clean exit, plugins closed.
        self.assertEqual(daemon.terminate(signal.SIGTERM), 0, daemon.describe())
        self.assertIn("stop signal during startup", daemon.describe())


if __name__ == "__main__":
    unittest.main(verbosity=2)
