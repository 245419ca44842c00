"""`strata plugin inspect FILE.so`: the host's checks on one file, without a daemon. It must
agree with stratad on every fixture and, like stratad, never run code of a file it refuses.
"""

import json
import os
import unittest

import harness as h

# mode -> (loadable, substrings of the reason when not). Only the handshake is checked, so the
# fixtures that fail later (in register, the graph or init) are loadable here.
EXPECTED = {
    "ok": (True, ()),
    "init-error": (True, ()),
    "init-throws": (True, ()),
    "registers-nothing": (True, ()),
    "cycle-a": (True, ()),
    "missing-dep": (True, ()),
    "skip": (True, ()),
    "no-entry": (False, ("no strata_plugin_v2",)),
    "abi-major": (False, ("ABI major 3",)),
    "toolchain": (False, ("toolchain", "clang")),
    "group-writable": (False, ("writable by group",)),
}


class InspectTest(unittest.TestCase):
    def test_fixtures(self):
        workdir = h.make_workdir(self)
        markers = os.path.join(workdir, "markers")
        os.mkdir(markers)
        env = dict(os.environ, STRATA_FIXTURE_MARKER_DIR=markers)
        for mode, (loadable, reasons) in EXPECTED.items():
            with self.subTest(mode=mode):
                path = h.install_plugin(h.fixture(mode), os.path.join(workdir, "plugins"),
                                        0o664 if mode == "group-writable" else 0o644)
                proc = h.run([h.strata_cli(), "plugin", "inspect", path, "--json"], env=env)
                self.assertEqual(proc.returncode, 0 if loadable else 1, h.describe(proc))
                info = json.loads(proc.stdout)
                self.assertEqual(info["file"], path)
                self.assertEqual(info["loadable"], loadable, info)
                if loadable:
                    self.assertIsNone(info["error"], info)
                    self.assertEqual(info["descriptor"]["id"], f"fixture-{mode}")
                else:
                    for s in reasons:
                        self.assertIn(s, info["error"]["message"], info)
                        self.assertIn(s, proc.stderr, h.describe(proc))
        self.assertEqual(os.listdir(markers), [], "inspect ran code of a file it refused")

    def test_not_a_shared_object(self):
        workdir = h.make_workdir(self)
        cases = {"empty.so": (b"", "the file is empty"),
                 "text.so": (b"#!/bin/sh\necho hi\n", "no ELF magic"),
                 "elf32.so": (b"\x7fELF\x01\x01\x01" + bytes(57), "another machine")}
        for name, (content, reason) in cases.items():
            with self.subTest(file=name):
                path = os.path.join(workdir, name)
                with open(path, "wb") as f:
                    f.write(content)
                os.chmod(path, 0o644)
                proc = h.run([h.strata_cli(), "plugin", "inspect", path, "--json"])
                self.assertEqual(proc.returncode, 1, h.describe(proc))
                info = json.loads(proc.stdout)
                self.assertFalse(info["loadable"], info)
                self.assertIn(reason, info["error"]["message"], info)
                self.assertIn(path, info["error"]["message"], info)
                self.assertNotIn("iostream", info["error"]["message"], info)

    def test_human_output(self):
        proc = h.run([h.strata_cli(), "plugin", "inspect", h.fixture("ok")])
        self.assertEqual(proc.returncode, 0, h.describe(proc))
        self.assertRegex(proc.stdout, r"(?m)^ID:\s+fixture-ok$")
        self.assertRegex(proc.stdout, r"(?m)^Verdict:\s+loadable$")

    def test_missing_file(self):
        proc = h.run([h.strata_cli(), "plugin", "inspect", "/nonexistent/plugin.so"])
        self.assertEqual(proc.returncode, 1, h.describe(proc))
        self.assertIn("/nonexistent/plugin.so", proc.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
