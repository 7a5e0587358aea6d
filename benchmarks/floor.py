"""The floor: the least work a SoT linter has to do, as one plain Python script.

    python benchmarks/floor.py ROOT [--list]

Reads every `.md` file under ROOT, finds headings (with GitHub anchors), entry
IDs, `**Field**: value` lines and ID links with compiled regular expressions,
then reports duplicate IDs, dangling links, links whose file or `#fragment`
does not resolve, and links that are not returned. Prints counts and the time
taken; exits 1 when it found problems, 0 otherwise.

The performance targets of sotb are ratios to this script's wall time, so it
stays deliberately naive: one process, no cache, no tricks. It ignores code
fences and everything else a real Markdown parser knows about.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from bisect import bisect_right
from dataclasses import dataclass, field

# Patterns start at a "\n" rather than "^" with re.M: the engine can then jump
# from one newline to the next instead of trying every position. Each text is
# scanned with a "\n" put in front, so the first line is found too.
HEADING = re.compile(r"\n(#{1,6})[ \t]+([^\n]+)")
ENTRY_ID = re.compile(r"([A-Z][A-Z0-9]{1,4}-\d{3,})(?=[:\s]|$)")
FIELD = re.compile(r"\n\*\*([^*\n]+)\*\*:[ \t]*([^\n]*)")
LINK = re.compile(r"\[([A-Z][A-Z0-9]*-\d+)\]\(([^)\s]*)\)")
SLUG_DROP = re.compile(r"[^\w\- ]")

KINDS = ("duplicate", "dangling", "fragment", "backref")


# A link: (source entry ID or "", target ID, file it points to, fragment, file it is in, offset)
Link = tuple[str, str, str, str, str, int]


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    path: str
    pos: int  # character offset, turned into a line number only when printed
    entry: str  # the entry to fix
    target: str  # the other ID involved ("" if none)


@dataclass(slots=True)
class Scan:
    files: int = 0
    headings: int = 0
    fields: int = 0
    entries: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # id -> places
    anchors: dict[str, set[str]] = field(default_factory=dict)  # path -> anchors
    links: list[Link] = field(default_factory=list)


def slug(text: str) -> str:
    return SLUG_DROP.sub("", text.lower()).replace(" ", "-")


def unique(base: str, seen: dict[str, int]) -> str:
    """GitHub's suffix for repeated headings: x, x-1, x-2, ..."""
    if base not in seen:
        seen[base] = 0
        return base
    count = seen[base]
    while True:
        count += 1
        candidate = f"{base}-{count}"
        if candidate not in seen:
            seen[base] = count
            seen[candidate] = 0
            return candidate


def scan_file(scan: Scan, path: str, text: str) -> None:
    """Collect the anchors, entries, fields and links of one file (text starts with "\n")."""
    anchors: dict[str, int] = {}
    starts: list[int] = []  # entry heading offsets
    ends: list[int] = []
    ids: list[str] = []
    open_entries: list[tuple[int, int]] = []  # (index into starts, heading level)
    for m in HEADING.finditer(text):
        level = len(m.group(1))
        title = m.group(2).strip()
        unique(slug(title), anchors)
        while open_entries and open_entries[-1][1] >= level:
            ends[open_entries.pop()[0]] = m.start()
        found = ENTRY_ID.match(title) if level in (2, 3) else None
        if found:
            entry_id = found.group(1)
            scan.entries.setdefault(entry_id, []).append((path, m.start(1)))
            open_entries.append((len(starts), level))
            starts.append(m.start())
            ends.append(len(text))
            ids.append(entry_id)
    scan.headings += len(anchors)
    scan.anchors[path] = set(anchors)
    for start, end in zip(starts, ends):
        scan.fields += len(FIELD.findall(text, start, end))
    folder = os.path.dirname(path)
    resolved: dict[str, str] = {"": path}
    for m in LINK.finditer(text):
        pos = m.start()
        k = bisect_right(starts, pos) - 1
        source = ids[k] if k >= 0 and pos < ends[k] else ""
        file_part, _, fragment = m.group(2).partition("#")
        target_file = resolved.get(file_part)
        if target_file is None:
            target_file = os.path.normpath(os.path.join(folder, file_part))
            resolved[file_part] = target_file
        scan.links.append((source, m.group(1), target_file, fragment, path, pos))


def scan_root(root: str) -> Scan:
    scan = Scan()
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            if not name.endswith(".md"):
                continue
            full = os.path.join(folder, name)
            with open(full, encoding="utf-8") as handle:
                text = "\n" + handle.read()
            scan.files += 1
            scan_file(scan, os.path.relpath(full, root), text)
    return scan


def check(scan: Scan) -> list[Problem]:
    problems = []
    for entry_id, places in scan.entries.items():
        for path, pos in places[1:]:
            problems.append(Problem("duplicate", path, pos, entry_id, ""))
    outgoing: dict[str, set[str]] = {}
    for source, target, target_file, fragment, path, pos in scan.links:
        if target not in scan.entries:
            problems.append(Problem("dangling", path, pos, source, target))
            continue
        anchors = scan.anchors.get(target_file)
        if anchors is None or (fragment and fragment not in anchors):
            problems.append(Problem("fragment", path, pos, source, target))
        if source:
            outgoing.setdefault(source, set()).add(target)
    for source, targets in outgoing.items():
        for target in targets:
            if source not in outgoing.get(target, ()):
                path, pos = scan.entries[target][0]
                problems.append(Problem("backref", path, pos, target, source))
    return problems


def line_of(root: str, problem: Problem) -> int:
    """1-based line of a problem (offsets count the "\n" put in front of each text)."""
    with open(os.path.join(root, problem.path), encoding="utf-8") as handle:
        return ("\n" + handle.read()).count("\n", 0, problem.pos + 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regex floor for SoT lint timings.")
    parser.add_argument("root", help="folder holding the SoT Markdown files")
    parser.add_argument("--list", action="store_true", help="print every problem")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    scan = scan_root(args.root)
    problems = check(scan)
    elapsed = time.perf_counter() - started
    counts = {kind: 0 for kind in KINDS}
    for problem in problems:
        counts[problem.kind] += 1
    in_entries = sum(1 for link in scan.links if link[0])
    print(
        f"files {scan.files}, entries {len(scan.entries)}, headings {scan.headings}, "
        f"fields {scan.fields}, links {len(scan.links)} ({in_entries} in entries)"
    )
    print("problems: " + ", ".join(f"{kind} {n}" for kind, n in counts.items()))
    if args.list:
        for p in sorted(problems, key=lambda p: (p.path, p.pos, p.kind)):
            other = f" -> {p.target}" if p.target else ""
            print(f"{p.path}:{line_of(args.root, p)}: {p.kind} {p.entry}{other}")
    print(f"elapsed {elapsed:.3f} s")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
