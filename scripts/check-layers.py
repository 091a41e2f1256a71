#!/usr/bin/env python3
"""Checks that src/ imports only downwards: every `crate::MODULE` a file names must be
of a lower layer than the file's own top-level module (or that module itself), so
there are no import cycles between modules and no import from a lower layer to a
higher one. Also: the UI side never names Candle, the training side never names the
terminal. Prints each violation as FILE:LINE and exits 1 if there is any.

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
    ["signals", "capture"],
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
    "ui": ["candle_core", "candle_nn", "clap"],
    "headless": ["candle_core", "candle_nn"],
}

RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}
SRC = pathlib.Path(__file__).resolve().parent.parent / "src"

# `crate::name`, and every top-level name inside `crate::{ … }` groups.
PATH = re.compile(r"\bcrate::([a-z_][a-z0-9_]*)")
GROUP = re.compile(r"\bcrate::\{")


def strip_comments(text: str) -> str:
    """Drops `//` comments (doc comments included) and string literals' contents."""
    out = []
    for line in text.splitlines():
        line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
        i = line.find("//")
        out.append(line if i < 0 else line[:i])
    return "\n".join(out)


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
    for p in problems:
        print(p, flush=True)
    if problems:
        print(f"check-layers: {len(problems)} forbidden import(s)", file=sys.stderr)
        return 1
    layers = " → ".join("/".join(layer) for layer in LAYERS)
    print(f"check-layers: every import in src/ points down: {layers} → main")
    return 0


if __name__ == "__main__":
    sys.exit(main())
