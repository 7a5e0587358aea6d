"""Read the "Navigation by Category" section of a SoT file."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from operator import attrgetter

from sot_builder.model import Document, Ref
from sot_builder.parse import RANGE_RE

NAV_TITLE_RE = re.compile(r"navigation", re.IGNORECASE)
_BOLD_RE = re.compile(r"\*\*([^*]+)\*\*|^#+\s*(.+?)\s*$")


@dataclass
class NavCategory:
    name: str
    prefix: str
    first: int
    last: int
    line: int
    items: list[Ref] = field(default_factory=list)

    def holds(self, number: int) -> bool:
        return self.first <= number <= self.last


@dataclass
class Navigation:
    line: int  # heading line
    end_line: int
    categories: list[NavCategory]
    loose: list[Ref]  # links in the section outside any category
    refs: list[Ref] = field(default_factory=list)  # every link to an ID in the section, in order


def find_navigation(doc: Document) -> Navigation | None:
    """The file's navigation: the first heading that says so and is not an entry's own
    (`## FEA-010: Navigation drawer`, or a `### Navigation` inside it). The section ends
    at the next heading of its level or above, or at the next entry heading: entries one
    level below an `## Navigation by Category` are not part of it."""
    heads = doc.headings
    spans = [(e.line, e.end_line) for e in doc.entries if e.level]  # in order, none inside another
    starts = [a for a, _ in spans]
    for k, h in enumerate(heads):
        if NAV_TITLE_RE.search(h.text) and not _inside(spans, starts, h.line):
            end = len(doc.lines)
            for h2 in heads[k + 1 :]:
                if h2.level <= h.level:
                    end = h2.line - 1
                    break
            first_entry = bisect_right(starts, h.line)
            if first_entry < len(starts):
                end = min(end, starts[first_entry] - 1)
            return _read(doc, h.line, end)
    return None


def _inside(spans: list[tuple[int, int]], starts: list[int], line: int) -> bool:
    """Whether `line` is an entry's heading or lies in its text."""
    k = bisect_right(starts, line) - 1
    return k >= 0 and line <= spans[k][1]


def _read(doc: Document, start: int, end: int) -> Navigation:
    cats: list[NavCategory] = []
    loose: list[Ref] = []
    for lineno, line in enumerate(doc.lines[start:end], start + 1):
        # Only the first range of a line names a category, and not one after a link's
        # label: the search stops at the first "](" (a range holds no "]").
        cut = line.find("](")
        m = RANGE_RE.search(line, 0, len(line) if cut < 0 else cut)
        if m is not None and m.group(1) == m.group(4):
            at = m.start()
            name_m = _BOLD_RE.search(line)
            name = (name_m.group(1) or name_m.group(2)) if name_m else line[:at]
            name = re.sub(r"\(.*$", "", name).strip(" *:-#")
            cats.append(NavCategory(name, m.group(1), int(m.group(3)), int(m.group(6)), lineno))
    # the parser gives references in the order of the text: the section's are one stretch
    refs = doc.refs[bisect_right(doc.refs, start, key=_line):bisect_right(doc.refs, end, key=_line)]
    refs = [r for r in refs if r.kind == "link" and r.target]
    lines = [c.line for c in cats]  # ascending: categories are read line by line
    for r in refs:
        k = bisect_left(lines, r.line)  # the last category above the link owns it
        if k == 0:
            loose.append(r)
        else:
            cats[k - 1].items.append(r)
    return Navigation(start, end, cats, loose, refs)


_line = attrgetter("line")
