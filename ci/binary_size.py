#!/usr/bin/env python3
"""What each library puts into the static pilot binary, from the GNU ld map the release build
writes beside it (build/pilot/cli/pilot.map): the bytes of the allocated input sections (code,
constants, initialised data; not .bss, which takes no room in the file), summed per archive or,
for objects linked directly, per directory. Prints a table, largest first; --json writes it.

    binary_size.py MAP [--json FILE] [--top N]

Python 3 standard library only.
"""

import argparse
import json
import re
import sys
from pathlib import Path

# An input section: " .text._Z...  0xADDR  0xSIZE  file", the name possibly alone on the line before.
ENTRY = re.compile(r"^ (?P<section>\.\S+)?\s+0x(?P<addr>[0-9a-f]+)\s+0x(?P<size>[0-9a-f]+)\s+(?P<file>\S.*)$")
NAME_ONLY = re.compile(r"^ (?P<section>\.\S+)\s*$")
# Sections that take no room in the file.
NOBITS = (".bss", ".tbss")


def owner(file):
    """The archive ('libcrypto.a') or, for a plain object, its directory."""
    m = re.match(r"^(?P<archive>.*\.a)\((?P<member>[^)]*)\)$", file)
    if m:
        return Path(m.group("archive")).name
    return str(Path(file).parent) or file


def sizes(map_text):
    out = {}
    in_map = False
    pending = None
    for line in map_text.splitlines():
        if line.startswith("Linker script and memory map"):
            in_map = True
            continue
        if not in_map:
            continue  # the discarded input sections are listed before the map
        m = NAME_ONLY.match(line)
        if m:
            pending = m.group("section")
            continue
        m = ENTRY.match(line)
        if not m:
            pending = None
            continue
        section = m.group("section") or pending
        pending = None
        if not section or section.startswith(NOBITS) or int(m.group("addr"), 16) == 0:
            continue
        size = int(m.group("size"), 16)
        if size:
            who = owner(m.group("file").strip())
            out[who] = out.get(who, 0) + size
    return out


def main():
    ap = argparse.ArgumentParser(prog="binary_size.py", description=__doc__.splitlines()[0])
    ap.add_argument("map")
    ap.add_argument("--json")
    ap.add_argument("--top", type=int, default=20)
    a = ap.parse_args()
    try:
        text = Path(a.map).read_text(errors="replace")
    except OSError as e:
        sys.exit(f"binary_size.py: cannot read the link map {a.map}: {e.strerror}")
    s = sizes(text)
    if not s:
        sys.exit(f"binary_size.py: {a.map} holds no input sections (not a GNU ld map?)")
    total = sum(s.values())
    rows = sorted(s.items(), key=lambda kv: -kv[1])
    print(f"{'part of the binary':<48} {'bytes':>10} {'share':>7}")
    for who, n in rows[:a.top]:
        print(f"{who:<48} {n:>10} {n / total * 100:>6.1f}%")
    rest = sum(n for _, n in rows[a.top:])
    if rest:
        print(f"{'(' + str(len(rows) - a.top) + ' more)':<48} {rest:>10} {rest / total * 100:>6.1f}%")
    print(f"{'total (allocated sections, before stripping)':<48} {total:>10}")
    if a.json:
        Path(a.json).write_text(json.dumps({"total": total, "parts": dict(rows)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
