#!/usr/bin/env python3
"""Checks that src/ imports only downwards: every `crate::MODULE` a file names must be
of a lower layer than the file's own top-level module (or that module itself), so
there are no import cycles between modules and no import from a lower layer to a
higher one. Also: the UI side never names Candle, the training side never names the
terminal. Prints each violation as FILE:LINE and exits 1 if there is any.

Inside one folder (a "room": src/train/, src/engine/cpu/, …) the modules it holds may
import each other, but never in a circle: a circle means none of them can be read,
tested or moved without the others. Each import (`crate::…`, `super::…`, `self::…`)
is resolved to the member of the room it lands in, through the room's mod.rs
re-exports; the mod.rs itself is the room's hall, not a member. Test modules are left
out: a test may compare two members. Each circle is printed with the lines that close
it.

Run from anywhere: python3 scripts/check-layers.py
"""

import pathlib
import re
import sys

# Lowest first. A module may import from any module of a lower layer, and from its
# own top-level module; modules on one line share a layer and may not import each
# other.
LAYERS = [
    ["failpoint", "rng", "logging", "files"],
    ["data", "device"],
    ["model"],
    ["engine"],
    ["train"],  # checkpoints inside
    ["signals", "capture", "live"],
    ["ui"],
    ["headless"],  # draws its snapshots with the ui's renderer
    ["config"],
    ["session"],  # what a run starts from: checkpoint, config, command line
    ["cli"],
    ["commands"],
]

# Crates a layer must never name: the trainer never touches the terminal, the UI
# never holds a Candle tensor.
FORBIDDEN_CRATES = {
    "failpoint": ["ratatui", "crossterm", "candle_core", "candle_nn"],
    "rng": ["ratatui", "crossterm", "candle_core", "candle_nn"],
    "logging": ["ratatui", "crossterm", "candle_core", "candle_nn"],
    "files": ["ratatui", "crossterm", "candle_core", "candle_nn"],
    "data": ["ratatui", "crossterm", "clap"],
    "device": ["ratatui", "crossterm"],
    "model": ["ratatui", "crossterm", "clap"],
    "engine": ["ratatui", "crossterm", "clap"],
    "train": ["ratatui", "crossterm", "clap"],
    "signals": ["ratatui", "crossterm", "candle_core", "candle_nn"],
    "capture": ["crossterm", "candle_core", "candle_nn"],
    "live": ["ratatui", "crossterm", "candle_core", "candle_nn", "clap"],
    "ui": ["candle_core", "candle_nn", "clap"],
    "headless": ["candle_core", "candle_nn"],
}

RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
SRC = pathlib.Path(__file__).resolve().parent.parent / "src"

# `crate::name`, and every top-level name inside `crate::{ … }` groups.
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUP = re.compile(r"\bcrate::\{")
# Literals `strip_comments` blanks: raw strings (`r#"…"#`, `br"…"`) and chars (`'{'`,
# `'\n'`, `'\u{7f}'`), told from lifetimes (`'a`) by their closing quote.
RAW = re.compile(r'b?r(#*)"')
CHAR = re.compile(r"'(\\(u\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{2}|.)|[^'\\\n])'")
IDENT_CHAR = re.compile(r"[A-Za-z0-9_]")


def strip_comments(text: str) -> str:
    """Blanks comments (doc comments included) and the contents of string and char
    literals, raw strings too, keeping every newline so that offsets still give lines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
        elif (raw := RAW.match(text, i)) and not IDENT_CHAR.match(text[i - 1 : i] or " "):
            close = '"' + raw.group(1)
            j = text.find(close, raw.end())
            j = n if j < 0 else j + len(close)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
        elif c == "'" and (ch := CHAR.match(text, i)):
            out.append("' '")
            i = ch.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)


def grouped_names(text: str, start: int):
    """The top-level names of the `crate::{…}` group opening at `start` (its `{`)."""
    depth, i, item = 0, start, ""
    names = []
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
            if depth == 2:
                item += c
            i += 1
            continue
        if c == "}":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and c == ",":
            names.append(item)
            item = ""
        elif depth >= 1:
            item += c
        i += 1
    names.append(item)
    heads = []
    for n in names:
        head = re.match(r"\s*([a-z_][a-z0-9_]*)", n)
        if head and head.group(1) not in ("self",):
            heads.append(head.group(1))
    return heads


def module_of(path: pathlib.Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".rs")

# Where a path starts (`crate::a::b`, `super::super::c`, `self::d`), with an optional
# `::{` group after it.
ANCHOR = re.compile(r"(?<![A-Za-z0-9_:])(crate|super|self)(?=\s*::)((?:\s*::\s*[A-Za-z_][A-Za-z0-9_]*)*)(\s*::\s*\{)?")
INLINE_MOD = re.compile(r"\bmod\s+([a-z_][a-z0-9_]*)\s*\{")
# A module only tests build: `#[cfg(test)] mod tests;` or `#[cfg(test)] mod tests { … }`,
# other attributes (`#[path = …]`) allowed between.
TEST_MOD = re.compile(
    r'#\[cfg\(test\)\]\s*((?:#\[[^\]]*\]\s*)*)(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*([;{])'
)
PATH_MOD = re.compile(r'#\[path\s*=\s*"([^"]+)"\]\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+([a-z_][a-z0-9_]*)\s*;')
REEXPORT = re.compile(r"\bpub(?:\([^)]*\))?\s+use\s+(?:self::)?([a-z_][a-z0-9_]*)\s*::([^;]*);")
DEFINES = r"^\s*pub(?:\([^)]*\))?\s+(?:const\s+|unsafe\s+|async\s+)*(?:struct|enum|fn|const|static|type|trait|union|mod|macro)\s+{}\b"


def base_module(path: pathlib.Path, declared: dict) -> list:
    """The module path of a file: src/a/b.rs is [a, b], src/a/mod.rs is [a], and a
    file named by `#[path]` hangs under the module that names it."""
    if path in declared:
        return declared[path]
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "mod":
        parts.pop()
    return parts


def group_paths(text: str, start: int, prefix: list) -> list:
    """Every path (a list of names) inside the `{…}` group opening at `start`."""
    paths, depth, item, i = [], 0, "", start
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
            if depth > 1:
                item += c
        elif c == "}":
            depth -= 1
            if depth == 0:
                break
            item += c
        elif c == "," and depth == 1:
            paths.append(item)
            item = ""
        else:
            item += c
        i += 1
    paths.append(item)
    out = []
    for item in paths:
        item = item.strip()
        if not item:
            continue
        m = re.match(r"((?:[A-Za-z_][A-Za-z0-9_]*\s*::\s*)*)(\{)?", item)
        names = [n for n in re.split(r"\s*::\s*", m.group(1)) if n]
        if m.group(2):
            out += group_paths(item, m.start(2), prefix + names)
        else:
            head = re.match(r"[A-Za-z_][A-Za-z0-9_]*", item[m.end(1) :])
            if head and head.group(0) != "self":
                names.append(head.group(0))
            out.append(prefix + names)
    return out


def imports(path: pathlib.Path, code: str, module: list):
    """(absolute path, line) for every `crate::`, `super::` and `self::` path in a
    file, each resolved from the (inline) module it is written in; test modules'
    paths are left out."""
    opens = []  # (offset of `{`, module name) of inline `mod name {`
    for m in INLINE_MOD.finditer(code):
        opens.append((m.end() - 1, m.group(1)))
    tests = {m.end() - 1 for m in TEST_MOD.finditer(code) if m.group(3) == "{"}
    spans = []  # (start, end, name)
    for at, name in opens:
        depth, i = 0, at
        while i < len(code):
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            if depth == 0:
                break
            i += 1
        spans.append((at, i, name))
    found = []
    for m in ANCHOR.finditer(code):
        if any(a < m.start() < b for a, b, _ in spans if a in tests):
            continue
        here = module + [n for a, b, n in spans if a < m.start() < b]
        names = [n for n in re.split(r"\s*::\s*", m.group(2)) if n]
        paths = group_paths(code, m.end() - 1, names) if m.group(3) else [names]
        line = code.count("\n", 0, m.start()) + 1
        for rest in paths:
            if m.group(1) == "crate":
                target = []
            else:
                target = list(here) if m.group(1) == "self" else here[:-1]
                while rest and rest[0] == "super":
                    target, rest = target[:-1], rest[1:]
            found.append((target + [n for n in rest if n not in ("self", "crate")], line))
    return found


def rooms_of(files: list) -> dict:
    """Each folder module (a "room") and its members: the modules it holds as files
    or folders, each with the files that make it up."""
    rooms = {}
    for path, module in files:
        for depth in range(1, len(module)):
            room, member = tuple(module[:depth]), module[depth]
            if (SRC.joinpath(*room)).is_dir():
                rooms.setdefault(room, {}).setdefault(member, []).append(path)
    return rooms


def resolve_member(room: tuple, name: str, members: dict) -> str | None:
    """The member of `room` that `room::name` lands in: the member itself, or the one
    its mod.rs re-exports `name` from, or the one a glob re-export defines it in."""
    if name in members:
        return name
    hall = SRC.joinpath(*room, "mod.rs")
    if not hall.exists():
        return None
    code = strip_comments(hall.read_text())
    globs = []
    for m in REEXPORT.finditer(code):
        member, rest = m.group(1), m.group(2)
        if member not in members:
            continue
        if re.search(r"(^|[\s:{,])\*", rest):
            globs.append(member)
        for exported in group_paths("{" + rest + "}", 0, []):
            if exported and exported[-1] == name:
                return member
        if re.search(rf"\bas\s+{name}\b", rest):
            return member
    if re.search(DEFINES.format(name), code, re.M):
        return None
    for member in globs:
        for path in members[member]:
            if re.search(DEFINES.format(name), strip_comments(path.read_text()), re.M):
                return member
    return None


def circles() -> list:
    """Every circle of imports among the members of one room, as (room, [arrows]),
    each arrow (from, to, where)."""
    paths = sorted(SRC.rglob("*.rs"))
    declared, tests = {}, set()
    for path in paths:
        for m in PATH_MOD.finditer(path.read_text()):
            declared[path.parent / m.group(1)] = base_module(path, {}) + [m.group(2)]
        for m in TEST_MOD.finditer(path.read_text()):
            if m.group(3) == ";":
                named = re.search(r'#\[path\s*=\s*"([^"]+)"\]', m.group(1))
                folder = path.parent if path.name == "mod.rs" else path.with_suffix("")
                tests.add(path.parent / named.group(1) if named else folder / f"{m.group(2)}.rs")
                tests.add(folder / m.group(2) / "mod.rs")
    files = [
        (p, base_module(p, declared))
        for p in paths
        if p.name not in ("lib.rs", "main.rs") and p not in tests
    ]
    edges = {}
    for path, module in files:
        code = strip_comments(path.read_text())
        for target, line in imports(path, code, module):
            for depth in range(1, min(len(module), len(target))):
                room = tuple(module[:depth])
                if tuple(target[:depth]) != room or not SRC.joinpath(*room).is_dir():
                    continue
                edges.setdefault(room, []).append((module[depth], target[depth], f"{path.relative_to(SRC.parent)}:{line}"))
    rooms = rooms_of(files)
    found = []
    for room, members in sorted(rooms.items()):
        graph = {}
        for src, name, where in edges.get(room, []):
            dst = resolve_member(room, name, members)
            if dst and dst != src and src in members:
                graph.setdefault(src, {}).setdefault(dst, where)
        for cycle in cycles_in(graph):
            arrows = [(a, b, graph[a][b]) for a, b in zip(cycle, cycle[1:] + cycle[:1])]
            found.append(("/".join(room), arrows))
    return found


def cycles_in(graph: dict) -> list:
    """Shortest circles through every node that lies on one: per strongly connected
    group, one through its first node not yet on a circle, until all are."""
    index, low, stack, on, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, {})):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    out = []
    for group in groups:
        covered = set()
        for start in group:
            if start in covered:
                continue
            seen, queue, cycle = {start: [start]}, [start], None
            while queue and cycle is None:
                v = queue.pop(0)
                for w in sorted(graph.get(v, {})):
                    if w == start:
                        cycle = seen[v]
                        break
                    if w in group and w not in seen:
                        seen[w] = seen[v] + [w]
                        queue.append(w)
            covered.update(cycle)
            out.append(cycle)
    return out


def main() -> int:
    problems = []
    for path in sorted(SRC.rglob("*.rs")):
        own = module_of(path)
        if own in ("lib", "main"):
            continue
        if own not in RANK:
            problems.append(f"{path}: module `{own}` has no layer in {__file__}")
            continue
        code = strip_comments(path.read_text())
        named = [(m.group(1), m.start()) for m in PATH.finditer(code)]
        for g in GROUP.finditer(code):
            named += [(n, g.start()) for n in grouped_names(code, g.end() - 1)]
        for target, at in named:
            line = code.count("\n", 0, at) + 1
            if target == own:
                continue
            if target not in RANK:
                problems.append(f"{path}:{line}: `crate::{target}` has no layer")
            elif RANK[target] >= RANK[own]:
                problems.append(
                    f"{path}:{line}: {own} (layer {RANK[own]}) imports {target} "
                    f"(layer {RANK[target]}): only lower layers may be imported"
                )
        for crate in FORBIDDEN_CRATES.get(own, []):
            for m in re.finditer(rf"\b{crate}::", code):
                line = code.count("\n", 0, m.start()) + 1
                problems.append(f"{path}:{line}: {own} must not use `{crate}`")
    found = circles()
    imports_wrong = len(problems)
    for room, arrows in found:
        names = [a for a, _, _ in arrows]
        problems.append(f"src/{room}: a circle of imports: {' → '.join(names + names[:1])}")
        problems += [f"    {where}: {a} imports {b}" for a, b, where in arrows]
    for p in problems:
        print(p, flush=True)
    if problems:
        print(
            f"check-layers: {imports_wrong} forbidden import(s), {len(found)} circle(s)",
            file=sys.stderr,
        )
        return 1
    layers = " → ".join("/".join(layer) for layer in LAYERS)
    print(f"check-layers: every import in src/ points down: {layers} → main")
    print("check-layers: no circle of imports inside any folder of src/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
