#!/usr/bin/env python3
"""No plugin writes to stderr or stdout: a plugin logs through InitContext::logger(), which puts
the line into stratad's log with the plugin's "<type>.<id>" at the operator's level. stratad's
stdout and stderr are not the plugin's to write (under systemd they are the journal, without the
plugin's name; `stratad config dump` prints the config on stdout).

  plugin_output_test.py SOURCE_ROOT

Scans every C/C++ file under SOURCE_ROOT/plugins/ with comments and string literals blanked, and
fails naming file:line and the fix for each write it finds. It first runs the same scan over
samples, so that a scan which stopped finding anything fails too.
"""
import os
import re
import sys

EXTENSIONS = (".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".inl", ".ipp")

# (pattern, what it is). Applied to code with comments and string literals blanked.
FORBIDDEN = [
    (re.compile(r"\b(?:std\s*::\s*)?(?:cerr|clog|cout|wcerr|wclog|wcout)\b"), "an iostream"),
    (re.compile(r"\b(?:stderr|stdout)\b"), "the stdio stream"),
    (re.compile(r"\b(?:STDERR_FILENO|STDOUT_FILENO)\b"), "the standard descriptor"),
    (re.compile(r"\b(?:printf|vprintf|puts|putchar|perror)\s*\("), "a stdout/stderr function"),
    (re.compile(r"\b(?:dprintf|vdprintf|write|writev|pwrite)\s*\(\s*[12]\s*,"),
     "a write to descriptor 1 or 2"),
    (re.compile(r"\b(?:std|fmt)\s*::\s*print(?:ln)?\s*\("), "a print to stdout"),
    (re.compile(r"\bspdlog\s*::"), "spdlog used directly (it writes to stdout by default)"),
]

FIX = ("log through the plugin's strata::Logger instead: keep InitContext::logger() and call "
       "log->warn(...) etc. (README, 'Writing a plugin')")


def blank_comments_and_strings(text):
    """`text` with comments, string and character literals replaced by spaces; newlines kept so
    line numbers stay right."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not text[i - 1].isalnum()):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def findings(text):
    """[(line number, what, the offending source line)] for `text`."""
    code = blank_comments_and_strings(text)
    lines = text.split("\n")
    found = []
    for number, line in enumerate(code.split("\n"), 1):
        for pattern, what in FORBIDDEN:
            if pattern.search(line):
                found.append((number, what, lines[number - 1].strip()))
    return found


# Each must be found: one per kind of write, as plugin code would spell it.
MUST_FIND = [
    'std::cerr << "x\\n";',
    "cerr << x;",
    "std::cout << x;",
    'std::fprintf(stderr, "x %s\\n", s);',
    'fputs("x", stderr);',
    "fflush(stdout);",
    "::write(STDERR_FILENO, buf, n);",
    'printf("x");',
    'std::puts("x");',
    'perror("open");',
    'dprintf(2, "x");',
    "::write(2, buf, n);",
    'std::println("{}", x);',
    'fmt::print("x");',
    'spdlog::warn("x");',
]
# Each must pass: look-alikes that write nowhere.
MUST_PASS = [
    'std::snprintf(buf, sizeof buf, "%d", n);',
    'log_->warn("see the processor\'s stderr: " + tail);',
    "// used to print to stderr; now logs",
    "/* std::cerr */ int x = 0;",
    'auto s = R"(stderr)";',
    "fs::write_all(fd, data); ::write(fd, buf, n);",
    "int stderr_limit = 4096;",
]


def self_test():
    problems = []
    for sample in MUST_FIND:
        if not findings(sample):
            problems.append(f"the scan misses a write: {sample}")
    for sample in MUST_PASS:
        if findings(sample):
            problems.append(f"the scan flags code that writes nowhere: {sample}")
    return problems


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    problems = self_test()
    if problems:
        print("\n".join(problems))
        return 1
    plugins = os.path.join(sys.argv[1], "plugins")
    if not os.path.isdir(plugins):
        print(f"{plugins} is not a directory")
        return 1
    scanned, bad = 0, []
    for directory, _, files in sorted(os.walk(plugins)):
        for name in sorted(files):
            if not name.endswith(EXTENSIONS):
                continue
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            scanned += 1
            rel = os.path.relpath(path, sys.argv[1])
            bad += [f"{rel}:{n}: {what}: {line}" for n, what, line in findings(text)]
    if scanned == 0:
        print(f"no C/C++ files under {plugins}")
        return 1
    if bad:
        print("plugins write to stdout or stderr:\n  " + "\n  ".join(bad) + "\nfix: " + FIX)
        return 1
    print(f"{scanned} plugin source files write nothing to stdout or stderr")
    return 0


if __name__ == "__main__":
    sys.exit(main())
