#!/usr/bin/env python3
"""Structure check: no two source files of a crate import each other.

For every crate under crates/, each file is a module (`a/b.rs` and `a/b/mod.rs` are
`a::b`; `lib.rs` is the root). A file refers to another when its code (comments and
`#[cfg(test)]` modules left out) names it: `use crate::…`, `use super::…`, `use self::…`,
`use child::…` of a module it declares, or a `crate::…`/`super::…` path. A name the
target re-exports (`pub use m::{Name}`) resolves to the module that defines it. Prints
each pair of files that refer to each other and exits 1 if there is any.
"""
import glob
import os
import re
import sys


def split_top(body):
    """Splits `a, b::{c, d}` at the commas outside braces."""
    parts, depth, cur = [], 0, ""
    for ch in body:
        depth += ch == "{"
        depth -= ch == "}"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def expand(prefix, body):
    """The paths a `use` tree names, each a list of segments."""
    body = body.strip()
    if not body:
        return [prefix]
    if body.startswith("{") and body.endswith("}"):
        return [p for part in split_top(body[1:-1]) if part.strip() for p in expand(prefix, part)]
    m = re.match(r"^([\w:]*?)::(\{.*\})$", body, re.S)
    if m:
        return expand(prefix + [s for s in m.group(1).split("::") if s], m.group(2))
    return [prefix + [s.split(" as ")[0].strip() for s in body.split("::") if s]]


def code(path):
    text = open(path, encoding="utf-8").read().split("#[cfg(test)]")[0]
    return "\n".join(line.split("//")[0] for line in text.split("\n"))


def crate_pairs(src):
    files = {}
    for f in glob.glob(os.path.join(src, "**", "*.rs"), recursive=True):
        parts = os.path.relpath(f, src)[:-3].split(os.sep)
        if parts[-1] == "mod":
            parts = parts[:-1]
        if parts in (["lib"], ["main"]):
            parts = []
        files[tuple(parts)] = f
    texts = {m: code(f) for m, f in files.items()}
    reexports = {}
    for m, t in texts.items():
        for um in re.finditer(r"\bpub(?:\([\w]+\))?\s+use\s+([^;]+);", t, re.S):
            tree = um.group(1).strip()
            root = tree.split("::")[0]
            base = [] if root == "crate" else list(m)
            if root in ("crate", "self"):
                tree = tree.split("::", 1)[1]
            for p in expand(base, tree):
                reexports[(m, p[-1])] = tuple(p[:-1])

    def resolve(path, seen=0):
        for i in range(len(path), -1, -1):
            mod = tuple(path[:i])
            if mod in files:
                rest = path[i:]
                if rest and (mod, rest[0]) in reexports and seen < 8:
                    target = resolve(list(reexports[(mod, rest[0])]) + rest, seen + 1)
                    return target or mod
                return mod
        return None

    refs = {}
    for m, t in texts.items():
        found = set()
        parent = list(m[:-1])
        for um in re.finditer(r"\buse\s+(\w+)((?:::[^;]*)?);", t, re.S):
            root, rest = um.group(1), um.group(2)
            rest = rest[2:] if rest.startswith("::") else rest
            if root == "crate":
                paths = expand([], rest)
            elif root == "super":
                paths = expand(parent, rest)
            elif root == "self" or tuple(list(m) + [root]) in files:
                paths = expand(list(m) + ([] if root == "self" else [root]), rest)
            else:
                continue
            found.update(resolve(p) for p in paths)
        for um in re.finditer(r"\b(crate|super)::((?:\w+::)*\w+)", t):
            base = [] if um.group(1) == "crate" else parent
            found.add(resolve(base + um.group(2).split("::")))
        found.discard(None)
        found.discard(m)
        refs[m] = found
    return [
        (files[a], files[b])
        for a in refs
        for b in refs[a]
        if a < b and a in refs.get(b, ())
    ]


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "."
    pairs = []
    for src in sorted(glob.glob(os.path.join(root, "crates", "*", "src"))):
        pairs += crate_pairs(src)
    for a, b in pairs:
        print(f"{a} and {b} import each other")
    if pairs:
        print(f"{len(pairs)} pair(s) of files import each other: move what both need into a module of its own")
        sys.exit(1)
    print("no two files import each other")


if __name__ == "__main__":
    main()
