#!/usr/bin/env python3
"""Checks the size rules of src/: no file over 700 lines, and no function over 80
lines (a function is read whole, and past a screen's height it is two functions).
Plain dispatch tables, one short arm per case, are exempt by name in DISPATCH with
the reason. Test modules (`mod tests` and `tests.rs` files) are left out. Prints each
violation as FILE:LINE and exits 1 if there is any.

Run from anywhere: python3 scripts/check-size.py
"""

import pathlib
import re
import sys

MAX_FILE_LINES = 700
MAX_FN_LINES = 80

# Functions that are one match with one short arm per case: splitting them would only
# scatter the table. `path: name` → why.
DISPATCH = {
    "src/ui/app/actions.rs: act": "one arm per key action",
    "src/ui/keys/table.rs: spec": "one row per key action: its key, help and hint",
}

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
FN = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?"
                r"(?:extern\s+\"C\"\s+)?fn\s+(\w+)")


def strip(text):
    """The text with comments, strings and char literals blanked (newlines kept)."""
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
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and (i == 0 or not text[i - 1].isalnum()):
            hashes = re.match(r'r(#*)"', text[i:]).group(1)
            end = '"' + hashes
            j = text.find(end, i + 2 + len(hashes))
            j = n if j < 0 else j + len(end)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "'" and re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", text[i:i + 12]):
            m = re.match(r"'(\\.|[^\\'])'|'\\u\{[0-9a-fA-F]+\}'|'\\x[0-9a-fA-F]{2}'", text[i:i + 12])
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def test_ranges(lines):
    """Line ranges of `#[cfg(test)] mod … {` blocks."""
    ranges, i = [], 0
    while i < len(lines):
        if lines[i].strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"\s*mod \w+ \{", lines[i + 1]):
            end = block_end(lines, i + 1)
            ranges.append((i, end))
            i = end
        i += 1
    return ranges


def block_end(lines, start):
    """The line where the block opened at or after `start` closes."""
    depth, opened = 0, False
    for j in range(start, len(lines)):
        for ch in lines[j]:
            if ch == "{":
                depth += 1
                opened = True
            elif ch == "}":
                depth -= 1
                if opened and depth == 0:
                    return j
        if not opened and lines[j].rstrip().endswith(";"):
            return j  # a declaration without a body
    return len(lines) - 1


def main():
    problems = []
    for path in sorted(SRC.rglob("*.rs")):
        rel = path.relative_to(SRC.parent).as_posix()
        text = path.read_text()
        count = text.count("\n")
        if count > MAX_FILE_LINES:
            problems.append(f"{rel}:1: {count} lines (at most {MAX_FILE_LINES})")
        if path.name == "tests.rs" or path.name.endswith("_tests.rs"):
            continue
        lines = strip(text).split("\n")
        tests = test_ranges(lines)
        for i, line in enumerate(lines):
            m = FN.match(line)
            if not m or any(a <= i <= b for a, b in tests):
                continue
            end = block_end(lines, i)
            length = end - i + 1
            name = m.group(1)
            if length > MAX_FN_LINES and f"{rel}: {name}" not in DISPATCH:
                problems.append(f"{rel}:{i + 1}: fn {name} is {length} lines (at most {MAX_FN_LINES})")
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} size problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
