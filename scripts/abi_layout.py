#!/usr/bin/env python3
"""The C++ ABI of the plugin SDK as text, and the check that it only changes with a version bump.

abi.h's descriptor is the C contract, but C++ objects cross the plugin boundary too: the vtables of
the interfaces (Snapshotter, Differ, ContentStore, ImageService, InitContext, ...) and the layouts
of the value and option structs one plugin builds and another reads (ApplyOptions, Mount, ...).
This script describes every class, struct and enum declared in the SDK's public headers by what
fixes their binary layout: the class head with its bases, the data members in order (types and
names, initialisers dropped), the virtual functions in order, and the enumerators. Comments,
whitespace, non-virtual functions and static members are left out, so editing documentation or
adding a helper function does not count as an ABI change.

  abi_layout.py describe HEADER_DIR            print the description
  abi_layout.py check HEADER_DIR RECORDED      fail unless RECORDED matches, version included
  abi_layout.py write HEADER_DIR RECORDED      record the current description (after a bump)

The recorded file starts with the ABI version ("abi MAJOR.MINOR") it was recorded at, read from
abi.h in HEADER_DIR. check fails when the description changed while the version did not (bump
STRATA_PLUGIN_ABI_MINOR or _MAJOR, add a line to the history in abi.h, then write), and when the
version changed without a new recording.
"""
import os
import re
import sys

KEYWORDS = ("class", "struct", "union")
DROP_PREFIXES = ("using ", "friend ", "static ", "typedef ", "template", "enum ", "class ",
                 "struct ", "union ", "static_assert", "namespace ")


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', text)  # string literals cannot confuse braces
    return re.sub(r"^\s*#.*$", " ", text, flags=re.M)


def matching_brace(text, open_at):
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced braces")


def split_members(body):
    """Statements at depth 0 of a class body; a brace group ends a statement when it is a body."""
    out, current, i = [], "", 0
    while i < len(body):
        c = body[i]
        if c == "{":
            end = matching_brace(body, i)
            current += " {} "
            i = end + 1
            rest = body[i:].lstrip()
            # A brace group followed by ';' or ',' is an initialiser or a nested type's body;
            # otherwise it was a function body and the statement ends here.
            if not rest.startswith((";", ",")):
                out.append(current)
                current = ""
            continue
        if c == ";":
            out.append(current)
            current = ""
        else:
            current += c
        i += 1
    if current.strip():
        out.append(current)
    return [" ".join(s.split()) for s in out if s.strip()]


def top_level_paren(stmt):
    depth = 0
    for i, c in enumerate(stmt):
        if c == "<":
            depth += 1
        elif c == ">":
            depth -= 1
        elif c == "(" and depth == 0:
            return i
    return -1


def describe_member(stmt):
    stmt = re.sub(r"^(public|private|protected)\s*:\s*", "", stmt)
    while re.match(r"^(public|private|protected)\s*:", stmt):
        stmt = re.sub(r"^(public|private|protected)\s*:\s*", "", stmt)
    if not stmt:
        return None
    if stmt.startswith("virtual ") or " override" in stmt or stmt.startswith("~"):
        if stmt.startswith("virtual ") or " override" in stmt:
            return "virtual " + stmt.replace("virtual ", "", 1).replace(" {}", "").strip()
        return None
    if stmt.startswith(DROP_PREFIXES) or stmt.startswith(("constexpr static", "inline static")):
        return None
    if re.search(r"\boperator\b", stmt):
        return None
    paren, equals = top_level_paren(stmt), stmt.find("=")
    if paren >= 0 and (equals < 0 or paren < equals):
        return None  # a constructor, operator or member function: no layout of its own
    field = stmt.split("=")[0].replace(" {}", "").strip()
    return "field " + field


def describe_header(path):
    text = strip_comments(open(path, encoding="utf-8").read())
    lines = []
    head = re.compile(r"\b(class|struct|union|enum class|enum struct|enum)\s+"
                      r"(?:\[\[[^\]]*\]\]\s*)?(\w+)\b([^;{()]*)\{")
    pos = 0
    while m := head.search(text, pos):
        kind, name, rest = m.group(1), m.group(2), " ".join(m.group(3).split())
        pos = m.start() + len(kind)
        if rest.startswith((">", ",", "=")):
            continue  # a template parameter ("template <class T>"), not a declaration
        if kind in KEYWORDS and rest.startswith("final"):
            rest = rest[len("final"):].strip()
        body_open = m.end() - 1
        body = text[body_open + 1:matching_brace(text, body_open)]
        lines.append(f"{kind} {name} {rest}".rstrip())
        if kind.startswith("enum"):
            for e in (" ".join(e.split()) for e in body.split(",")):
                if e:
                    lines.append("  enumerator " + e)
            continue
        for stmt in split_members(body):
            d = describe_member(stmt)
            if d:
                lines.append("  " + d)
    return lines


def describe(header_dir):
    out = []
    for name in sorted(os.listdir(header_dir)):
        if name.endswith((".hpp", ".h")):
            lines = describe_header(os.path.join(header_dir, name))
            if lines:
                out.append(f"# {name}")
                out.extend(lines)
    return "\n".join(out) + "\n"


def abi_version(header_dir):
    text = open(os.path.join(header_dir, "abi.h"), encoding="utf-8").read()
    major = re.search(r"#define STRATA_PLUGIN_ABI_MAJOR (\d+)", text).group(1)
    minor = re.search(r"#define STRATA_PLUGIN_ABI_MINOR (\d+)", text).group(1)
    return f"{major}.{minor}"


def recording(header_dir):
    return f"abi {abi_version(header_dir)}\n" + describe(header_dir)


def check(header_dir, recorded_path):
    current = recording(header_dir)
    recorded = open(recorded_path, encoding="utf-8").read()
    if current == recorded:
        print(f"C++ ABI unchanged since abi {abi_version(header_dir)}")
        return 0
    recorded_version = recorded.splitlines()[0] if recorded else "(empty)"
    now = f"abi {abi_version(header_dir)}"
    import difflib
    diff = "".join(difflib.unified_diff(recorded.splitlines(True), current.splitlines(True),
                                        recorded_path, "headers now", n=1))
    if recorded_version == now:
        print(f"FAIL: the C++ ABI of the SDK changed but the ABI version is still {now}.\n"
              "Bump STRATA_PLUGIN_ABI_MINOR (only for virtual functions appended to interfaces "
              "the host implements) or STRATA_PLUGIN_ABI_MAJOR (anything else, a field added to "
              "a struct included), add a line to the history in abi.h, then record it:\n"
              f"  scripts/abi_layout.py write {header_dir} {recorded_path}\n")
    else:
        print(f"FAIL: abi.h says {now} but {recorded_path} was recorded at {recorded_version}; "
              f"record the new version:\n  scripts/abi_layout.py write {header_dir} "
              f"{recorded_path}\n")
    print(diff)
    return 1


def main(argv):
    if len(argv) >= 2 and argv[0] == "describe":
        sys.stdout.write(describe(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "check":
        return check(argv[1], argv[2])
    if len(argv) == 3 and argv[0] == "write":
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(recording(argv[1]))
        print(f"recorded the C++ ABI at abi {abi_version(argv[1])} in {argv[2]}")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
