#!/usr/bin/env python3
"""Every installed plugin module exports only the ABI entry and the toolchain marker.

Anything more in the dynamic symbol table (weak std/Boost template instantiations, say) lets two
plugins, or a plugin and the host, bind to each other's copies of code built with other flags; the
SDK's plugin.map version script keeps them local. Usage: exports_test.py MODULE.so...
"""
import re
import subprocess
import sys

ALLOWED = re.compile(r"^(strata_plugin_v[0-9]+|strata_toolchain_[A-Za-z0-9_]+)$")


def defined_dynamic_symbols(path):
    out = subprocess.run(["nm", "-D", "--defined-only", path], check=True, capture_output=True,
                         text=True).stdout
    return [line.split()[-1] for line in out.splitlines() if line.strip()]


def main(paths):
    if not paths:
        print("usage: exports_test.py MODULE.so...")
        return 2
    failed = 0
    for path in paths:
        symbols = defined_dynamic_symbols(path)
        extra = [s for s in symbols if not ALLOWED.match(s)]
        entries = [s for s in symbols if s.startswith("strata_plugin_v")]
        markers = [s for s in symbols if s.startswith("strata_toolchain_")]
        if extra or len(entries) != 1 or len(markers) != 1:
            failed += 1
            print(f"FAIL {path}: expected exactly one strata_plugin_v<N> and one "
                  f"strata_toolchain_<tag>; entries {entries}, markers {markers}, "
                  f"{len(extra)} others: {' '.join(extra[:10])}")
        else:
            print(f"ok   {path}: {' '.join(symbols)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
