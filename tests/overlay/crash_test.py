"""kill -9 of stratad while clients prepare, commit and remove overlay snapshots, then restart on
the same root: every commit and remove that was acknowledged before the kill holds, committed
data reads back through a real view mount, and after Cleanup no directory is left that no
snapshot owns (no half-created `new-<id>`, no half-removed `rm-<id>`).

Each round kills at a random moment (the seed is printed, so a failure can be replayed with
CRASH_SEED=N); the workload grows one chain of committed layers, each holding a marker file, and
branches leaves off its tip that it removes again, so kills land in prepare, commit and remove.
"""

import json
import os
import random
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.environ.get("SOURCE_ROOT", ""), "tests", "integration"))
import harness as h  # noqa: E402

PLUGIN_URI = "strata.snapshotter.v1.overlayfs"
BASE = "/v1/snapshotters/overlayfs"
ROUNDS = 4
# Chain layers a round adds at most: the kernel mounts at most 500 overlay lower layers, and the
# kills, not the depth, are what is under test. Past it a round only branches and removes.
LAYERS_PER_ROUND = 60


def key_path(key):
    return BASE + "/snapshots/" + urllib.parse.quote(key, safe="")


def upper_dir(mounts):
    """Where a writer's files go: the bind source, or the overlay's upperdir."""
    m = mounts[0]
    if m["type"] == "bind":
        return m["source"]
    for o in m.get("options", []):
        if o.startswith("upperdir="):
            return o[len("upperdir="):]
    raise AssertionError(f"no writable layer in {mounts}")


class Stopped(Exception):
    """stratad went away under the workload (the kill)."""


class Workload:
    """Runs prepare/write/commit and prepare/commit/remove against one socket until it fails,
    recording only what the server acknowledged."""

    def __init__(self, socket, tip, prefix):
        self.socket = socket
        self.tip = tip            # newest committed layer of the chain ("" for none)
        self.prefix = prefix
        self.committed = {}       # acknowledged committed name -> parent
        self.removed = set()      # acknowledged removed names
        self.removing = None      # the remove in flight: it may or may not have landed
        self.error = None

    def call(self, method, path, body=None, expect=(200,)):
        try:
            status, raw = h.http_request(self.socket, method, path, body, timeout=30)
        except OSError as e:
            raise Stopped() from e
        except Exception as e:  # http.client errors on a connection cut mid-answer
            raise Stopped() from e
        if status not in expect:
            raise AssertionError(f"{method} {path} -> {status} {raw[:500]!r}")
        return json.loads(raw) if raw.strip() else None

    def layer(self, name, parent):
        active = name + "-active"
        mounts = self.call("POST", BASE + "/snapshots", {"key": active, "parent": parent},
                           expect=(201,))
        with open(os.path.join(upper_dir(mounts), "marker-" + name), "w") as f:
            f.write(name)
        self.call("POST", key_path(active) + "/commit", {"name": name}, expect=(201,))
        self.committed[name] = parent

    def run(self):
        try:
            i = 0
            while True:
                name = f"{self.prefix}-{i:04d}"
                if i < LAYERS_PER_ROUND:
                    self.layer(name, self.tip)
                    self.tip = name
                side = name + "-side"
                self.layer(side, self.tip)
                self.removing = side
                self.call("DELETE", key_path(side), expect=(204,))
                self.removed.add(side)
                self.removing = None
                i += 1
        except Stopped:
            pass
        except Exception as e:  # reported by the test thread
            self.error = e


@unittest.skipUnless(os.geteuid() == 0, "the overlay snapshotter needs root to mount overlays")
class CrashTest(unittest.TestCase):
    def setUp(self):
        self.workdir = h.make_workdir(self)
        self.plugins = os.path.join(self.workdir, "plugins")
        h.install_plugin(h.env_path("OVERLAY_PLUGIN", "the built overlay plugin"), self.plugins)
        self.config = h.write_config(os.path.join(self.workdir, "config.toml"),
                                     required=[PLUGIN_URI])

    def start(self):
        daemon = h.Daemon(self, self.workdir, plugin_dirs=[self.plugins],
                          config=self.config).start()
        daemon.wait_ready()
        return daemon

    def get(self, daemon, path, expect=200):
        status, raw = h.http_request(daemon.socket, "GET", path, timeout=30)
        self.assertEqual(status, expect, f"GET {path}: {raw[:500]!r}\n{daemon.describe()}")
        return json.loads(raw) if raw.strip() else None

    def check_chain_reads_back(self, daemon, tip, chain):
        """A view on `tip`, really mounted: every layer's marker is there with its content."""
        view = "check-view"
        proc = h.cli(daemon, "snapshots", "view", view, tip)
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        target = os.path.join(self.workdir, "mnt")
        os.makedirs(target, exist_ok=True)
        proc = h.cli(daemon, "snapshots", "mount", view, target)
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        try:
            for name in chain:
                with open(os.path.join(target, "marker-" + name)) as f:
                    self.assertEqual(f.read(), name, f"layer {name} lost its data")
        finally:
            proc = h.cli(daemon, "snapshots", "unmount", target)
            self.assertEqual(proc.returncode, 0, h.describe(proc))
        proc = h.cli(daemon, "snapshots", "rm", view)
        self.assertEqual(proc.returncode, 0, h.describe(proc))

    def check_no_orphans(self, daemon):
        status, raw = h.http_request(daemon.socket, "POST", BASE + "/cleanup", timeout=60)
        self.assertEqual(status, 204, raw)
        snapshots = self.get(daemon, BASE + "/snapshots")
        on_disk = sorted(os.listdir(os.path.join(daemon.root, PLUGIN_URI, "snapshots")))
        self.assertTrue(all(d.isdigit() for d in on_disk),
                        f"leftover directories after cleanup: {on_disk}")
        self.assertEqual(len(on_disk), len(snapshots),
                         f"directories {on_disk} vs snapshots {[s['name'] for s in snapshots]}")

    def test_kill_during_commit_and_remove_loses_nothing_acknowledged(self):
        seed = int(os.environ.get("CRASH_SEED", random.randrange(1 << 30)))
        print(f"CRASH_SEED={seed}", flush=True)
        rng = random.Random(seed)
        tip, chain, committed, removed, maybe_removed = "", [], {}, set(), set()
        for rnd in range(ROUNDS):
            daemon = self.start()
            work = Workload(daemon.socket, tip, f"r{rnd}")
            thread = threading.Thread(target=work.run, daemon=True)
            thread.start()
            time.sleep(rng.uniform(0.3, 1.5))
            daemon.kill()  # SIGKILL: no close(), no chance to tidy up
            thread.join(timeout=60)
            self.assertFalse(thread.is_alive(), "the workload hung after the kill")
            self.assertIsNone(work.error, f"round {rnd}: {work.error}\n{daemon.describe()}")
            committed.update(work.committed)
            removed |= work.removed
            if work.removing:
                maybe_removed.add(work.removing)
            chain += [n for n in work.committed if not n.endswith("-side")]

            daemon = self.start()
            for name, parent in committed.items():
                if name in removed:
                    self.get(daemon, key_path(name), expect=404)
                    continue
                if name in maybe_removed:
                    status, _ = h.http_request(daemon.socket, "GET", key_path(name))
                    self.assertIn(status, (200, 404), name)
                    continue
                info = self.get(daemon, key_path(name))
                self.assertEqual(info["kind"], "Committed", info)
                self.assertEqual(info.get("parent", ""), parent, info)
            # The chain's tip may be a layer whose commit landed but whose answer was lost:
            # continue from the newest acknowledged one, which the next round builds on.
            tip = chain[-1] if chain else ""
            if tip:
                self.check_chain_reads_back(daemon, tip, chain)
            self.check_no_orphans(daemon)
            daemon.kill()
        self.assertGreater(len(chain), ROUNDS, "the workload committed almost nothing")


if __name__ == "__main__":
    unittest.main(verbosity=2)
