"""stratad under load from outside, with real processes and real limits: it raises its open-file
limit, caps connections with a 503 that names [api] max_connections while /v1/health and
/v1/plugins still answer past the cap, and keeps /v1/health answering while plugin calls block
(concurrent removals of large snapshots run on the worker pool, not on the two I/O threads).
"""

import json
import os
import resource
import socket
import sys
import threading
import time
import unittest
import urllib.parse

import harness as h

def idle_connections(path, n):
    """`n` connected sockets that send nothing, as a client that opens connections and idles."""
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        out.append(s)
    return out


def close_all(sockets):
    for s in sockets:
        s.close()


class FdLimitTest(unittest.TestCase):
    def start(self, soft, hard=None, extra=""):
        """stratad started with RLIMIT_NOFILE soft:`soft` (hard: `hard`, else unchanged)."""
        workdir = h.make_workdir(self)
        config = h.write_config(os.path.join(workdir, "config.toml"), extra=extra)
        daemon = h.Daemon(self, workdir, config=config)
        # Set in a Python that then execs stratad: a hard limit lowered in the test process
        # itself could not be raised again.
        limit = f"({soft}, {hard if hard is not None else 'resource.getrlimit(resource.RLIMIT_NOFILE)[1]'})"
        daemon.argv = [sys.executable, "-c",
                       "import os, resource, sys\n"
                       f"resource.setrlimit(resource.RLIMIT_NOFILE, {limit})\n"
                       "os.execv(sys.argv[1], sys.argv[1:])\n", *daemon.argv]
        daemon.start()
        daemon.wait_ready()
        return daemon

    def assert_answers(self, daemon, path, what):
        try:
            status, body = h.http_get(daemon.socket, path, timeout=5.0)
        except (OSError, TimeoutError) as e:
            self.fail(f"{path} did not answer {what}: {e}\n{daemon.describe()}")
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def test_soft_limit_is_raised_to_the_hard_limit(self):
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard != resource.RLIM_INFINITY and hard < 1024:
            h.unavailable(f"the hard open-file limit is {hard}; this test needs at least 1024")
        daemon = self.start(soft=96)
        shown = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
        self.assertIn(f"open-file limit {shown} (was 96, hard limit {shown})", daemon.stderr())
        # With 96 descriptors, 300 idle clients would leave accept() failing with EMFILE.
        conns = idle_connections(daemon.socket, 300)
        self.addCleanup(close_all, conns)
        self.assert_answers(daemon, "/v1/health", "with 300 idle connections")
        self.assertEqual(daemon.terminate(), 0, daemon.describe())

    def test_idle_connections_past_the_fd_limit_leave_health_answering(self):
        # A hard limit of 128: the default cap of 512 is lowered to half of it.
        daemon = self.start(soft=128, hard=128)
        log = daemon.stderr()
        self.assertIn("serving at most 64 connections, not 512 ([api] max_connections)", log)
        conns = idle_connections(daemon.socket, 300)
        self.addCleanup(close_all, conns)
        self.assert_answers(daemon, "/v1/health", "with 300 idle connections and 128 fds")
        self.assert_answers(daemon, "/v1/plugins", "with 300 idle connections and 128 fds")
        status, body = h.http_get(daemon.socket, "/v1/snapshotters", timeout=5.0)
        self.assertEqual(status, 503, body)
        error = json.loads(body)
        self.assertEqual(error["code"], "Unavailable")
        self.assertIn("at most 64 connections at once ([api] max_connections)", error["message"])
        close_all(conns)
        self.assertEqual(daemon.terminate(), 0, daemon.describe())

    def test_connection_cap_from_the_config(self):
        daemon = self.start(soft=1024, extra="[api]\nmax_connections = 4\n")
        conns = idle_connections(daemon.socket, 10)
        self.addCleanup(close_all, conns)
        self.assert_answers(daemon, "/v1/health", "past the cap")
        status, body = h.http_get(daemon.socket, "/v1/snapshotters", timeout=5.0)
        self.assertEqual(status, 503, body)
        self.assertIn("at most 4 connections", json.loads(body)["message"])
        # Once the idle clients leave (which stratad sees a moment later), there is room.
        close_all(conns)
        deadline = time.monotonic() + 10
        while h.http_get(daemon.socket, "/v1/snapshotters", timeout=5.0)[0] != 200:
            self.assertLess(time.monotonic(), deadline, "no room after the idle clients left")
            time.sleep(0.05)


class BlockingRemoveTest(unittest.TestCase):
    FILES = 40000  # per snapshot (hard links of one tree); removing one takes a good part of a second

    def setUp(self):
        plugin = h.overlay_plugin()
        if os.geteuid() != 0:
            print("SKIP: the overlay snapshotter needs root", flush=True)
            raise unittest.SkipTest("the overlay snapshotter needs root")
        self.workdir = h.make_workdir(self)
        self.daemon, name = h.snapshotter_daemon(self, self.workdir, plugin)
        self.base = f"/v1/snapshotters/{urllib.parse.quote(name, safe='')}/snapshots"

    def request(self, method, path, body=None, timeout=60.0):
        return h.http_request(self.daemon.socket, method, path, body=body, timeout=timeout)

    def big_snapshot(self, key, template):
        """An active snapshot holding `template`'s files, hard-linked in."""
        status, body = self.request("POST", self.base, {"key": key})
        self.assertIn(status, (200, 201), body)
        status, body = self.request("GET", f"{self.base}/{key}/mounts")
        self.assertEqual(status, 200, body)
        upper = json.loads(body)[0]["source"]
        proc = h.run(["cp", "-al", template + "/.", upper])
        self.assertEqual(proc.returncode, 0, h.describe(proc))

    def test_health_answers_while_large_snapshots_are_removed(self):
        # Entries are hard links of one file per directory: link(2) is far cheaper than
        # creating inodes on a busy disk, and unlinking each still costs the remove a directory
        # entry. (One file per directory keeps each under ext4's 65,000 links.)
        template = os.path.join(self.workdir, "template")
        for d in range(self.FILES // 250):
            sub = os.path.join(template, str(d))
            os.makedirs(sub)
            origin = h.write_file(os.path.join(sub, "0"), "x")
            for f in range(1, 250):
                os.link(origin, os.path.join(sub, str(f)))
        # As many concurrent removes as stratad has I/O threads, and one more.
        keys = [f"big{i}" for i in range(3)]
        for k in keys:
            self.big_snapshot(k, template)

        latencies = []
        done = threading.Event()

        def probe():
            while not done.is_set():
                started = time.monotonic()
                try:
                    status, _ = h.http_get(self.daemon.socket, "/v1/health", timeout=30.0)
                except OSError:
                    status = None
                latencies.append((time.monotonic() - started, status))
                time.sleep(0.01)

        results = {}

        def remove(key):
            results[key] = self.request("DELETE", f"{self.base}/{key}")

        prober = threading.Thread(target=probe)
        prober.start()
        time.sleep(0.05)
        started = time.monotonic()
        removers = [threading.Thread(target=remove, args=(k,)) for k in keys]
        for t in removers:
            t.start()
        for t in removers:
            t.join()
        took = time.monotonic() - started
        done.set()
        prober.join()

        for k in keys:
            self.assertIn(results[k][0], (200, 204), results[k])
        worst = max(latency for latency, _ in latencies)
        self.assertTrue(all(status == 200 for _, status in latencies), latencies)
        print(f"{len(keys)} removes of {self.FILES} files took {took:.2f}s; "
              f"{len(latencies)} health probes, the slowest {worst * 1000:.0f} ms")
        # Health runs on an I/O thread that no remove holds: its latency is nowhere near a
        # remove's. Had the removes run on the I/O threads, health would wait for one to end.
        self.assertLess(worst, 1.0)
        self.assertLess(worst, took / 4, f"health waited {worst:.2f}s of the {took:.2f}s removes")


if __name__ == "__main__":
    unittest.main(verbosity=2)
