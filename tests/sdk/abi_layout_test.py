#!/usr/bin/env python3
"""The C++ ABI guard: the SDK headers' layout description matches plugin-api/abi-layout.txt, and
the guard does fail on the changes it exists for (shown on a copy of the headers).

Usage: abi_layout_test.py SCRIPT HEADER_DIR RECORDED
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def check(script, headers, recorded):
    return subprocess.run([sys.executable, script, "check", headers, recorded],
                          capture_output=True, text=True)


def edited_copy(tmp, headers, name, pattern, replacement):
    copy = os.path.join(tmp, "h-" + str(len(os.listdir(tmp))))
    shutil.copytree(headers, copy)
    path = os.path.join(copy, name)
    text = open(path, encoding="utf-8").read()
    edited, n = re.subn(pattern, replacement, text, count=1, flags=re.S)
    assert n == 1, f"fixture edit of {name} did not apply: {pattern}"
    open(path, "w", encoding="utf-8").write(edited)
    return copy


def main(script, headers, recorded):
    failures = []
    proc = check(script, headers, recorded)
    if proc.returncode != 0:
        print(proc.stdout + proc.stderr)
        return 1
    print(proc.stdout.strip())

    # Each edit must be caught (an ABI change without a bump) or let through (no ABI change).
    cases = [
        ("a field appended to ApplyOptions", "differ.hpp",
         r"(struct ApplyOptions \{)", r"\1\n  int appended = 0;", True),
        ("a virtual inserted into Snapshotter", "snapshotter.hpp",
         r"(class Snapshotter : public Instance \{\npublic:)",
         r"\1\n  virtual Status sync() = 0;", True),
        ("two Snapshotter virtuals swapped", "snapshotter.hpp",
         r"(virtual Result<Info> stat\([^;]*;)(.*?)(virtual Result<Usage> usage\([^;]*;)",
         r"\3\2\1", True),
        ("a parameter type of a ContentStore method", "content.hpp",
         r"virtual Status remove\(const std::string& digest\)",
         "virtual Status remove(std::string_view digest)", True),
        ("an error code inserted", "error.hpp", r"NotFound = 5,", "NotFound = 5,\n  Gone = 99,",
         True),
        ("a comment edited", "differ.hpp", r"/// Options of Applier::apply\.",
         "/// Options of Applier::apply (reworded).", False),
        ("a non-virtual helper added", "mount.hpp", r"(struct Mount \{)",
         r"\1\n  bool is_bind() const { return type == \"bind\"; }", False),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for what, name, pattern, replacement, caught in cases:
            copy = edited_copy(tmp, headers, name, pattern, replacement)
            proc = check(script, copy, recorded)
            got = proc.returncode != 0
            verdict = "caught" if got else "let through"
            print(f"{'ok  ' if got == caught else 'FAIL'} {what}: {verdict}")
            if got != caught:
                failures.append(what)
            if caught and got and "Bump STRATA_PLUGIN_ABI_MINOR" not in proc.stdout:
                failures.append(what + " (message does not say what to do)")
        # A bump alone, without recording the description again, is refused too.
        copy = edited_copy(tmp, headers, "abi.h", r"#define STRATA_PLUGIN_ABI_MINOR (\d+)",
                           "#define STRATA_PLUGIN_ABI_MINOR 99")
        proc = check(script, copy, recorded)
        print(f"{'ok  ' if proc.returncode else 'FAIL'} a bump without a new recording: "
              f"{'caught' if proc.returncode else 'let through'}")
        if proc.returncode == 0:
            failures.append("bump without recording")
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
