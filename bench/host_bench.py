#!/usr/bin/env python3
"""Host start and `plugins ls` round-trip benchmark.

Reports ratios against baselines measured in the same run on the same machine, because absolute
times here drift:
  start:      stratad spawn -> /v1/health answers, vs spawn -> exit of `stratad --help`
              (process start and dynamic linking, no plugins, no server)
  round trip: GET /v1/plugins from an in-process client, vs GET /v1/health (same socket, a
              route that does no work), and `strata plugins ls --json` as a process vs
              `curl --unix-socket` of the same route.
Absolute medians are printed too, next to the aims (start <= 50 ms, round trip <= 5 ms).

Usage: bench/host_bench.py [--build DIR] [--plugin-dir DIR]... [--runs N]
With no --plugin-dir, the test fixtures of the build (every failure mode plus the ok plugin,
except the one whose init hangs on purpose) are copied into a scratch plugin directory: there
are no built-in plugins yet, and the fixtures exercise every load path the host has.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def http_get(sock_path, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: strata\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def wait_ready(sock_path, proc, deadline_s=10.0):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"stratad exited with {proc.returncode}")
        try:
            if b" 200 " in http_get(sock_path, "/v1/health").split(b"\r\n", 1)[0]:
                return
        except OSError:
            pass
        time.sleep(0.0005)
    raise RuntimeError("stratad did not become ready")


def timed(fn, runs):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000.0)
    return out


def describe(name, samples):
    s = sorted(samples)
    p99 = s[min(len(s) - 1, int(len(s) * 0.99))]
    print(f"  {name:<40} median {statistics.median(s):8.3f} ms   p99 {p99:8.3f} ms")
    return statistics.median(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--plugin-dir", action="append", default=[])
    ap.add_argument("--runs", type=int, default=30)
    args = ap.parse_args()
    stratad = os.path.join(args.build, "host/daemon/stratad")
    cli = os.path.join(args.build, "cli/strata")
    work = tempfile.mkdtemp(prefix="strata-bench.")
    plugin_dirs = args.plugin_dir
    if not plugin_dirs:
        fixtures = os.path.join(args.build, "tests/fixtures")
        scratch = os.path.join(work, "plugins")
        os.mkdir(scratch)
        for name in sorted(os.listdir(fixtures)):
            if name.endswith(".so") and "hang" not in name and "group-writable" not in name:
                shutil.copy(os.path.join(fixtures, name), scratch)
                os.chmod(os.path.join(scratch, name), 0o644)
        plugin_dirs = [scratch]
    sock = os.path.join(work, "s.sock")
    base = [stratad, "--root", os.path.join(work, "root"), "--state", os.path.join(work, "state"),
            "--address", sock, "--log-level", "warn"]
    for d in plugin_dirs:
        base += ["--plugin-dir", d]
    try:
        print(f"host benchmark: {args.runs} runs, plugin dirs {plugin_dirs}")

        def help_only():
            subprocess.run([stratad, "--help"], stdout=subprocess.DEVNULL, check=True)

        start_samples = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            p = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_ready(sock, p)
            start_samples.append((time.perf_counter() - t0) * 1000.0)
            p.terminate()
            p.wait(10)
        print("start to API ready:")
        start = describe("stratad start -> /v1/health 200", start_samples)
        baseline = describe("baseline: stratad --help (spawn+exit)", timed(help_only, args.runs))
        print(f"  ratio start/baseline: {start / baseline:.2f}x   (aim: start <= 50 ms)")

        p = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_ready(sock, p)
            runs = args.runs * 10
            print("round trip:")
            plugins = describe("GET /v1/plugins (in-process client)",
                               timed(lambda: http_get(sock, "/v1/plugins"), runs))
            health = describe("baseline: GET /v1/health", timed(lambda: http_get(sock, "/v1/health"), runs))
            print(f"  ratio plugins/health: {plugins / health:.2f}x   (aim: round trip <= 5 ms)")
            cli_ms = describe("strata plugins ls --json (process)", timed(
                lambda: subprocess.run([cli, "--address", sock, "plugins", "ls", "--json"],
                                       stdout=subprocess.DEVNULL, check=True), args.runs))
            curl = shutil.which("curl")
            if curl:
                curl_ms = describe("baseline: curl --unix-socket /v1/plugins", timed(
                    lambda: subprocess.run([curl, "-s", "--unix-socket", sock, "http://strata/v1/plugins"],
                                           stdout=subprocess.DEVNULL, check=True), args.runs))
                print(f"  ratio strata-cli/curl: {cli_ms / curl_ms:.2f}x")
        finally:
            p.terminate()
            p.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
