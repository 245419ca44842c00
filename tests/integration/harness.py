"""Shared machinery of the integration tests (Python 3 standard library only).

Paths come from the environment that tests/integration/meson.build sets: STRATAD, STRATA_CLI,
FIXTURE_DIR, SOURCE_ROOT, BUILD_ROOT. Every subprocess runs with a timeout and every stratad
started here is killed when its test ends, so a broken host fails a test instead of hanging it.
"""

import glob
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

IN_CI = os.environ.get("CI", "").lower() == "true"

# Every fixture tests/fixtures/meson.build builds, by mode (fixture-<mode>.so).
FIXTURES = [
    "ok", "no-entry", "abi-major", "toolchain", "init-error", "init-throws", "hang",
    "registers-nothing", "duplicate-a", "duplicate-b", "cycle-a", "cycle-b", "missing-dep",
    "cascade", "skip", "group-writable",
]
# Fixtures the host must refuse before running any of their code; each has a static initialiser
# that writes $STRATA_FIXTURE_MARKER_DIR/<mode>.marker.
NEVER_RUN = ["no-entry", "abi-major", "toolchain", "group-writable"]
# Fixtures whose init blocks for an hour; only tests that pass --plugin-init-timeout use them.
HANGING = ["hang"]
# What stratad says about a plugin whose init outlived --plugin-init-timeout.
INIT_TIMEOUT_REASON = "did not return"

READY_LINE = "stratad ready"
STARTUP_TIMEOUT = 10.0  # seconds from exec to "ready"; the brief's never-hang bound
STOP_TIMEOUT = 10.0  # seconds from SIGTERM to exit
COMMAND_TIMEOUT = 60.0  # any other subprocess


def unavailable(reason):
    """Skips the test outside CI, fails it in CI: there a missing piece is a broken build."""
    if IN_CI:
        raise AssertionError(f"required for this test, and CI=true: {reason}")
    print(f"SKIP: {reason}", file=sys.stderr)
    raise unittest.SkipTest(reason)


def env_path(var, what):
    """The path in environment variable `var`, which must exist."""
    path = os.environ.get(var, "")
    if not path:
        unavailable(f"${var} is not set ({what}); run the test through `meson test`")
    if not os.path.exists(path):
        unavailable(f"${var}={path} does not exist ({what}); build it first (ninja)")
    return path


def stratad():
    return env_path("STRATAD", "the stratad executable")


def strata_cli():
    return env_path("STRATA_CLI", "the strata CLI executable")


def fixture_dir():
    return env_path("FIXTURE_DIR", "the directory holding fixture-<mode>.so")


def overlay_plugin():
    """The built overlay snapshotter plugin file, from $OVERLAY_PLUGIN."""
    path = os.environ.get("OVERLAY_PLUGIN", "")
    if not path or not os.path.isfile(path):
        unavailable(f"$OVERLAY_PLUGIN={path!r} is not the built snapshotter plugin")
    return path


def fixture(mode):
    path = os.path.join(fixture_dir(), f"fixture-{mode}.so")
    if not os.path.exists(path):
        unavailable(f"{path} is missing; build tests/fixtures first")
    return path


def program(name):
    """An external program the test needs (make, curl, ...)."""
    path = shutil.which(name)
    if not path:
        unavailable(f"`{name}` is not installed")
    return path


def make_workdir(test):
    """A temporary directory removed when `test` ends. Short, so socket paths fit sun_path."""
    path = tempfile.mkdtemp(prefix="strata-it-")
    test.addCleanup(shutil.rmtree, path, True)
    return path


def install_plugin(src, directory, mode=0o644, name=None):
    """Copies a plugin file into a plugin directory with an explicit mode (the host checks it)."""
    os.makedirs(directory, exist_ok=True)
    dst = os.path.join(directory, name or os.path.basename(src))
    shutil.copyfile(src, dst)
    os.chmod(dst, mode)
    return dst


def write_file(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def toml_string(s):
    return json.dumps(s)  # a JSON string is a valid TOML basic string for the paths used here


def write_config(path, required=(), disabled=(), extra=""):
    """A config file: version 1, the given required/disabled plugins, and `extra` appended."""
    lines = [
        "version = 1",
        "required_plugins = [" + ", ".join(toml_string(r) for r in required) + "]",
        "disabled_plugins = [" + ", ".join(toml_string(d) for d in disabled) + "]",
    ]
    return write_file(path, "\n".join(lines) + "\n" + extra)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP/1.1 over a unix socket, as `curl --unix-socket` does."""

    def __init__(self, socket_path, timeout=5.0):
        super().__init__("strata", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def http_request(socket_path, method, path, body=None, timeout=5.0):
    """(status, body bytes) of `method` `path` with `body` (bytes, or any other value sent as
    JSON); raises OSError when nothing listens."""
    headers = {}
    if body is not None and not isinstance(body, bytes):
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def http_get(socket_path, path, timeout=5.0):
    """(status, body bytes) of GET `path`; raises OSError when nothing listens."""
    return http_request(socket_path, "GET", path, timeout=timeout)


class Daemon:
    """One stratad process on private root/state/socket paths under `workdir`."""

    def __init__(self, test, workdir, plugin_dirs=(), config=None, args=(), env=None):
        self.test = test
        self.root = os.path.join(workdir, "root")
        self.state = os.path.join(workdir, "state")
        self.socket = os.path.join(workdir, "s.sock")
        self.stderr_path = os.path.join(workdir, "stratad.stderr")
        self.stdout_path = os.path.join(workdir, "stratad.stdout")
        self.argv = [stratad(), "--root", self.root, "--state", self.state, "--address",
                     self.socket, "--log-level", "debug"]
        if config:
            self.argv += ["--config", config]
        for d in plugin_dirs:
            self.argv += ["--plugin-dir", d]
        self.argv += list(args)
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None

    def start(self, add_cleanup=None):
        """Starts stratad; it is killed by `add_cleanup` (default: when the test ends)."""
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            # Files, not pipes: a chatty daemon can never block on a full pipe nobody reads.
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.env)
        (add_cleanup or self.test.addCleanup)(self.kill)
        return self

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def describe(self):
        return f"command: {' '.join(self.argv)}\n--- stratad stderr ---\n{self.stderr()}"

    def wait_ready(self, timeout=STARTUP_TIMEOUT):
        """Waits for the ready line and a healthy API; fails if stratad exits or is too slow."""
        deadline = time.monotonic() + timeout
        while True:
            rc = self.proc.poll()
            if rc is not None:
                self.test.fail(f"stratad exited with {rc} before it was ready\n{self.describe()}")
            if READY_LINE in self.stderr():
                try:
                    status, body = http_get(self.socket, "/v1/health", timeout=2.0)
                    if status == 200:
                        return json.loads(body)
                except (OSError, http.client.HTTPException):
                    pass
            if time.monotonic() > deadline:
                self.test.fail(f"stratad was not ready within {timeout:.0f}s\n{self.describe()}")
            time.sleep(0.05)

    def wait_exit(self, timeout=STARTUP_TIMEOUT):
        """The exit code of a stratad expected to stop by itself; fails if it does not."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.test.fail(f"stratad did not exit within {timeout:.0f}s\n{self.describe()}")

    def terminate(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Sends `sig` and returns the exit code; fails if stratad takes longer than `timeout`."""
        self.proc.send_signal(sig)
        return self.wait_exit(timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=COMMAND_TIMEOUT)


def snapshotter_daemon(test, workdir, plugin):
    """A ready stratad in `workdir` with the snapshotter plugin file `plugin` installed alone;
    returns (daemon, the snapshotter's id as the plugin listing gives it). Fails `test` unless
    exactly one snapshotter from that file is ok."""
    plugins = os.path.join(workdir, "plugins")
    installed = install_plugin(plugin, plugins, 0o644)
    config = write_config(os.path.join(workdir, "config.toml"))
    daemon = Daemon(test, workdir, plugin_dirs=[plugins], config=config).start()
    daemon.wait_ready()
    records = [r for r in plugins_json(test, daemon)
               if r.get("file") == installed and r.get("type") == "strata.snapshotter.v1"]
    test.assertEqual(len(records), 1, f"one snapshotter from {installed}: {records}")
    test.assertEqual(records[0]["status"], "ok", records[0])
    return daemon, records[0]["id"]


def run(argv, timeout=COMMAND_TIMEOUT, **kwargs):
    """subprocess.run with text output captured and a timeout that fails instead of hanging."""
    try:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=timeout, **kwargs)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"{' '.join(argv)} did not finish within {timeout}s; "
                             f"stdout: {e.stdout!r} stderr: {e.stderr!r}") from None


def describe(proc):
    return (f"command: {' '.join(proc.args)}\nexit: {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}")


def cli(daemon, *args, timeout=COMMAND_TIMEOUT):
    return run([strata_cli(), "--address", daemon.socket, *args], timeout=timeout)


def checked_cli(test, daemon, *args, expect=0, timeout=COMMAND_TIMEOUT):
    """`strata ARGS` against `daemon`; fails `test` unless it exits `expect` (None: any), naming
    the command, its output and the daemon's log."""
    proc = cli(daemon, *args, timeout=timeout)
    if expect is not None:
        test.assertEqual(proc.returncode, expect, describe(proc) + daemon.describe())
    return proc


def plugins_json(test, daemon):
    """`strata plugins ls --json`, parsed; fails the test on a non-zero exit."""
    proc = cli(daemon, "plugins", "ls", "--json")
    test.assertEqual(proc.returncode, 0, describe(proc))
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        test.fail(f"`strata plugins ls --json` printed invalid JSON ({e})\n{describe(proc)}")


def plugin_record(test, daemon, type_, id_):
    """The one /v1/plugins record of plugin `type_`.`id_` (e.g. "strata.differ.v1", "walking");
    fails the test unless there is exactly one."""
    status, body = http_get(daemon.socket, "/v1/plugins")
    test.assertEqual(status, 200, body)
    mine = [r for r in json.loads(body) if r.get("type") == type_ and r.get("id") == id_]
    test.assertEqual(len(mine), 1, f"{body}\n{daemon.describe()}")
    return mine[0]


def records_by_file(test, records, directory):
    """{file name: record} for the records of plugin files in `directory`; each file once."""
    out = {}
    for r in records:
        if os.path.dirname(r.get("file", "")) != directory:
            continue
        name = os.path.basename(r["file"])
        test.assertNotIn(name, out, f"two records for {name}: {out.get(name)} and {r}")
        out[name] = r
    return out


def sanitizer_preload(path):
    """LD_PRELOAD value that lets a plain Python load `path` if it was built with ASan/UBSan."""
    proc = run(["ldd", path])
    libs = re.findall(r"=>\s*(\S*lib(?:asan|ubsan|tsan)\.so[^\s]*)", proc.stdout)
    return " ".join(libs)


def load_in_child(test, path, marker_dir):
    """dlopen()s `path` in a separate Python, as a control that the marker mechanism works."""
    env = dict(os.environ, STRATA_FIXTURE_MARKER_DIR=marker_dir)
    preload = sanitizer_preload(path)
    if preload:
        env["LD_PRELOAD"] = preload
        env["ASAN_OPTIONS"] = "detect_leaks=0:verify_asan_link_order=0"
    proc = run([sys.executable, "-c", "import ctypes, sys; ctypes.CDLL(sys.argv[1])", path],
               env=env)
    test.assertEqual(proc.returncode, 0, describe(proc))


def find_one(test, pattern, what):
    matches = sorted(glob.glob(pattern, recursive=True))
    test.assertTrue(matches, f"no {what} matches {pattern}")
    return matches[0]


class ExampleBuild:
    """The out-of-tree example, built against the SDK installed into a temporary DESTDIR."""

    def __init__(self, plugin, destdir, log):
        self.plugin = plugin
        self.destdir = destdir
        self.log = log


def build_example(test, workdir):
    """Installs the build tree into <workdir>/destdir and builds examples/hello-snapshotter from
    the installed copy with its Makefile, seeing only the installed SDK. Returns ExampleBuild."""
    build_root = env_path("BUILD_ROOT", "the meson build directory")
    make = program("make")
    program("pkg-config")
    meson = shutil.which("meson")
    if not meson:
        unavailable("`meson` is not installed")
    destdir = os.path.join(workdir, "destdir")
    proc = run([meson, "install", "-C", build_root, "--destdir", destdir, "--no-rebuild"],
               timeout=300)
    test.assertEqual(proc.returncode, 0,
                     "meson install failed (run `ninja` first: it installs every built target)\n"
                     + describe(proc))
    pc = find_one(test, os.path.join(destdir, "**", "pkgconfig", "strata-plugin.pc"),
                  "installed strata-plugin.pc")
    installed_example = find_one(
        test, os.path.join(destdir, "**", "share", "doc", "strata", "examples",
                           "hello-snapshotter"), "installed example")
    # Built in a copy: the installed tree and the source tree stay untouched.
    example = os.path.join(workdir, "hello-snapshotter")
    shutil.copytree(installed_example, example)
    proc = run([make, "-C", example, f"PKG_CONFIG_SYSROOT_DIR={destdir}",
                f"PKG_CONFIG_PATH={os.path.dirname(pc)}"], timeout=300)
    test.assertEqual(proc.returncode, 0, "building the example failed\n" + describe(proc))
    plugin = os.path.join(example, "strata-snapshotter-hello.so")
    test.assertTrue(os.path.isfile(plugin), f"make did not produce {plugin}\n{describe(proc)}")
    return ExampleBuild(plugin, destdir, proc.stdout + proc.stderr)
