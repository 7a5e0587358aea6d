"""`sotb sync`: regenerate generated regions, insert missing back-references, repair anchors.

Generated regions are delimited by `<!-- sotb:begin NAME -->` and
`<!-- sotb:end NAME -->` (the `<!-- SECTION: NAME -->` ... `<!-- /SECTION: NAME -->`
style is recognised too; its markers are kept as they are). Regions:

- `navigation` in every SoT file: entries grouped by category (the type's
  categories, else the ranges already written in the file);
- `files` in SoT.README.md: the file table;
- `prefixes` and `index` in SoT.UNIQUE_ID_SYSTEM.md: the prefix table and the
  per-prefix index tables (ID | Title | Status | Used By);
- plug-in regions from optional modules (`PLUGIN_MODULES`, e.g. `dashboard` from
  `sot_builder.dashboard`), kept where they are and added at the end of their
  file when the configuration has a non-empty table of the same name.

The first sync adopts hand-written content: the body of an existing
"Navigation by Category" section, the README's file table, the prefix table
and the run of index tables are wrapped in markers and regenerated with the
standard columns. A file that lacks them gets them at the end of a matching
empty section ("SoT Files", "Prefix Registry", "Index Tables"), else appended
under a new heading (navigation: before the first entry). Missing back-references (rule SOT208) are inserted as list items in
the target entry's relation section, created at the end of the entry (before
its Version History) when absent. A link whose fragment names its entry by ID
but is not that entry's anchor (rule SOT203: a short `#api-045`, or the slug of an
old title) gets the anchor, when exactly one heading entry of that ID is in the
target file (`rules.refs.fragment_repairs`).

Every byte outside generated regions, inserted lines and repaired link
destinations is kept: line endings, trailing spaces, a UTF-8 BOM, a missing final
newline. A second sync changes nothing. Before writing, every changed file is
parsed again; if its entries changed in any way other than the intended new
references and anchors, nothing is written.
A file with an unterminated code fence or HTML comment (SOT003) is never
rewritten: text added after it would be code or hidden, and every sync would
add it again. Such a file is left byte for byte and listed in `skipped`.
Nothing at all is written while a scanned file cannot be read or decoded
(SOT002: its entries would drop out of the tables), or while a registry file
has a region marker without its partner (SOT004) or frontmatter that is never
closed or hides entries or regions (SOT001): sync refuses with the file and
line (`guard.refuse_unsafe`).
"""

from __future__ import annotations

import contextlib
import difflib
import importlib
import importlib.util
import posixpath
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import quote

from sot_builder import collector, forking
from sot_builder.config import Config
from sot_builder.diagnostics import SotbError
from sot_builder.hashing import file_sha
from sot_builder.model import Document, Entry, Region
from sot_builder.parse import RANGE_RE, ParseOptions, fragment_id, newline_of, parse_document, unclosed_block
from sot_builder.paths import printable
from sot_builder.project import Project, load_project, parse_options
from sot_builder.rules.backrefs import MissingBackRef, missing_back_references
from sot_builder.rules.refs import FragmentRepair, fragment_repairs
from sot_builder.rules.registry_files import (
    ID_SYSTEM_PURPOSE,
    file_prefixes,
    file_table,
    find_region,
    heading_entries,
    id_key,
    id_system_doc,
    index_entries,
    index_tables,
    listed_files,
    owned_prefixes,
    prefix_table,
    readme_doc,
    readme_rows,
    types_in_use,
    used_by,
)

BOM = b"\xef\xbb\xbf"
NAV_HEADING = "## Navigation by Category"
FILES_HEADING = "## SoT Files"
PREFIXES_HEADING = "## Prefix Registry"
INDEX_HEADING = "## ID Index"
INDEX_LEVEL = 3  # heading level of the per-prefix index tables in a new index region
VERIFY_PARALLEL_MIN_BYTES = 4 * 1024 * 1024  # rewritten files checked in two processes from this size

_BREAK_RE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s")
_INDEX_HEAD_RE = re.compile(r"^\s{0,3}(#{2,6})\s+.*\(\s*[A-Z][A-Z0-9]{1,4}-(?:X{2,}|#{2,}|N{2,})\s*\)\s*$")
_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s")
_BOLD_RE = re.compile(r"\*\*([^*]+)\*\*|^#+\s*(.+?)\s*$")

RegionGenerator = Callable[[Project], str]


def begin_marker(name: str) -> str:
    return f"<!-- sotb:begin {name} -->"


def end_marker(name: str) -> str:
    return f"<!-- sotb:end {name} -->"


# -- results ----------------------------------------------------------------------------
DIFF_CONTEXT = 3  # unchanged lines shown around each change
LONG_DIFF = 2000  # lines; longer files are compared without their common beginning and end
_HUNK_RE = re.compile(r"([-+])(\d+)")

@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the project dir, "/" separated
    before: bytes
    after: bytes

    def diff(self) -> str:
        a = _split_keep(_lf(self.before.decode("utf-8", errors="replace")))
        b = _split_keep(_lf(self.after.decode("utf-8", errors="replace")))
        # difflib slows down badly on long files whose lines repeat (blank lines,
        # "### Related"): there, compare only what lies between the common beginning
        # and end, with the context lines a hunk shows, and shift the line numbers back.
        skip = keep = 0
        if max(len(a), len(b)) > LONG_DIFF:
            head = len(os.path.commonprefix([a, b]))
            tail = len(os.path.commonprefix([a[head:][::-1], b[head:][::-1]]))
            skip, keep = max(0, head - DIFF_CONTEXT), max(0, tail - DIFF_CONTEXT)
        out = []
        for line in difflib.unified_diff(a[skip:len(a) - keep], b[skip:len(b) - keep],
                                         f"a/{self.path}", f"b/{self.path}", n=DIFF_CONTEXT):
            if skip and line.startswith("@@ "):
                line = _HUNK_RE.sub(lambda m: f"{m.group(1)}{int(m.group(2)) + skip}", line)
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


@dataclass(frozen=True)
class SyncResult:
    changes: tuple[FileChange, ...] = ()
    written: bool = False
    back_references: tuple[tuple[str, str], ...] = ()  # (entry that got it, ID it now references)
    skipped: tuple[tuple[str, int, str], ...] = ()  # (path, line, why): files left unchanged
    fragments: tuple[FragmentRepair, ...] = ()  # links given their entry's anchor

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def changed_files(self) -> list[str]:
        return [c.path for c in self.changes]

    @property
    def diff(self) -> str:
        return "".join(c.diff() for c in self.changes)


# -- a file as editable lines -------------------------------------------------------------
def _lf(text: str) -> str:
    """A classic Mac text (lone CRs, no LF) with LFs, as the parser reads it; others unchanged."""
    return text.replace("\r", "\n") if newline_of(text) == "\r" else text


def _split_keep(text: str) -> list[str]:
    """Split on "\\n" only (as the parser does), keeping each line's terminator."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


@dataclass(frozen=True)
class Edit:
    """Replace lines [start, end) (0-based) with `lines` (no terminators)."""

    start: int
    end: int
    lines: tuple[str, ...]
    seq: int = 0  # order of insertions at one position


class TextFile:
    def __init__(self, data: bytes) -> None:
        self.bom = data.startswith(BOM)
        text = (data[len(BOM):] if self.bom else data).decode("utf-8")
        self.mac = newline_of(text) == "\r"  # edited with LFs, written back with CRs
        self.lines = _split_keep(text.replace("\r", "\n") if self.mac else text)
        first = text[: text.find("\n") + 1] if "\n" in text else ""
        self.newline = "\r\n" if first.endswith("\r\n") else "\n"

    def to_bytes(self) -> bytes:
        text = "".join(self.lines)
        data = (text.replace("\n", "\r") if self.mac else text).encode("utf-8")
        return BOM + data if self.bom else data

    def apply(self, edits: list[Edit]) -> None:
        nl = self.newline
        for ed in sorted(edits, key=lambda e: (e.start, e.seq), reverse=True):
            chunk = [line + nl for line in ed.lines]
            if ed.end > ed.start and not self.lines[ed.end - 1].endswith("\n") and chunk:
                chunk[-1] = chunk[-1][: -len(nl)]  # the last line had no terminator: keep it so
            elif ed.start == ed.end and ed.start > 0 and not self.lines[ed.start - 1].endswith("\n"):
                chunk = ["".join(nl + line for line in ed.lines)]  # after an unterminated last line
            self.lines[ed.start:ed.end] = chunk


# -- region generators --------------------------------------------------------------------
def files_region(project: Project) -> str:
    """The README's file table: every SoT file with its prefixes and purpose."""
    from sot_builder.render import render

    doc = readme_doc(project)
    base = posixpath.dirname(doc.path) if doc is not None else project.root_rel
    old: dict[str, tuple] = {}
    if doc is not None:
        table = file_table(doc)
        if table is not None:
            old = readme_rows(project, doc, table)
    rows = []
    for listed in listed_files(project):
        name = posixpath.relpath(listed.path, base or ".")
        purpose = ""
        if listed.role == "sot":
            prefixes = [f"{p}-###" for p in file_prefixes(project, listed)]
            purpose = _frontmatter_text(listed, "purpose")
            if not purpose:
                purpose = old.get(listed.path, ("", [], "", 0))[2]
            if not purpose:
                purpose = next((project.registry.get(p).purpose for p in owned_prefixes(project, listed)
                                if project.registry.get(p) is not None), "")
        else:
            prefixes = []
            purpose = old.get(listed.path, ("", [], "", 0))[2] or ID_SYSTEM_PURPOSE
        rows.append({"name": printable(name),
                     "href": quote(name, safe="/._-~()", errors="surrogateescape"),
                     "prefixes": prefixes, "purpose": purpose})
    return render("sync/readme_files.md.j2", project.project_dir, rows=rows)


def prefixes_region(project: Project) -> str:
    """The UNIQUE_ID_SYSTEM prefix table: every prefix in use, its meaning and owning file."""
    from sot_builder.render import render

    doc = id_system_doc(project)
    base = posixpath.dirname(doc.path) if doc is not None else project.root_rel
    rows = []
    for t in types_in_use(project):
        owner = project.rel_in_root(t.file) if t.file else ""
        shown = posixpath.relpath(owner, base or ".") if owner else ""
        for p in t.prefixes:
            rows.append({"prefix": p, "meaning": t.title, "file": shown})
    return render("sync/id_prefixes.md.j2", project.project_dir, rows=rows)


def index_region(project: Project) -> str:
    """The UNIQUE_ID_SYSTEM index tables: one per prefix in use, ID | Title | Status | Used By."""
    from sot_builder.render import render

    doc = id_system_doc(project)
    level = _index_level(doc) if doc is not None else INDEX_LEVEL
    tables = []
    for t in types_in_use(project):
        rows = [{"id": e.id, "title": e.title, "status": e.status, "used_by": used_by(project, e.id)}
                for e in index_entries(project, t)]
        tables.append({"title": t.title, "prefix": t.prefix, "placeholder": "X" * t.width, "rows": rows})
    return render("sync/id_index.md.j2", project.project_dir, hashes="#" * level, tables=tables)


def _index_level(doc: Document) -> int:
    region = find_region(doc, "index")
    if region is not None:
        lines = doc.lines[region.begin_line: region.end_line - 1]
    else:
        span = _index_block(doc)
        lines = doc.lines[span[0] - 1: span[1]] if span else ()
    for line in lines:
        m = _HEADING_RE.match(line)
        if m:
            return len(m.group(1))
    h = _section_heading(doc, _INDEX_TITLE_RE) if region is None else None
    return min(h.level + 1, 6) if h is not None else INDEX_LEVEL


# Regions of SoT.README.md and SoT.UNIQUE_ID_SYSTEM.md: name -> body. The built-in ones are
# adopted or created on the first sync; any other name is kept up to date where its markers are.
REGION_GENERATORS: dict[str, RegionGenerator] = {"files": files_region}
ID_SYSTEM_GENERATORS: dict[str, RegionGenerator] = {"prefixes": prefixes_region, "index": index_region}
# Regions written by optional modules: name -> (module, generator, function naming the file
# that holds the region ("" = SoT.README.md)). Imported only when the module is installed.
PLUGIN_MODULES: dict[str, tuple[str, str, str]] = {
    "dashboard": ("sot_builder.dashboard", "dashboard_region", "dashboard_path"),
}


@dataclass(frozen=True)
class PluginRegion:
    name: str
    generate: RegionGenerator
    where: Callable[[Project], str] | None = None  # project-relative path of its file

    def path(self, project: Project) -> str:
        if self.where is not None:
            return self.where(project)
        return project.rel_in_root(project.config["readme"])


def plugin_regions() -> list[PluginRegion]:
    out = []
    for name, (module, attr, where) in sorted(PLUGIN_MODULES.items()):
        if importlib.util.find_spec(module) is None:
            continue
        mod = importlib.import_module(module)
        out.append(PluginRegion(name, getattr(mod, attr), getattr(mod, where, None) if where else None))
    return out


def region_generators() -> dict[str, RegionGenerator]:
    """README regions plus installed plug-in regions (which may live in another file)."""
    gens = dict(REGION_GENERATORS)
    for plugin in plugin_regions():
        gens.setdefault(plugin.name, plugin.generate)
    return gens


# -- navigation -----------------------------------------------------------------------------
@dataclass
class NavGroup:
    name: str
    first: str
    last: str
    entries: list[dict] = field(default_factory=list)


def _written_ranges(doc: Document) -> list[tuple[str, str, int, int]]:
    """(name, prefix, first, last) of the category lines already in the file's navigation."""
    from sot_builder.navigation import find_navigation

    region = find_region(doc, "navigation")
    if region is not None:
        lo, hi = region.begin_line + 1, region.end_line - 1
    else:
        nav = find_navigation(doc)
        if nav is None:
            return []
        lo, hi = nav.line + 1, nav.end_line
    out = []
    for lineno in range(lo, hi + 1):
        line = doc.lines[lineno - 1]
        m = RANGE_RE.search(line)
        if not m or m.group(1) != m.group(4) or "](" in line[: m.start()]:
            continue
        name_m = _BOLD_RE.search(line)
        name = (name_m.group(1) or name_m.group(2)) if name_m else line[: m.start()]
        name = re.sub(r"\(.*$", "", name).strip(" *:-#")
        out.append((name, m.group(1), int(m.group(3)), int(m.group(6))))
    return out


def navigation_groups(project: Project, doc: Document) -> list[NavGroup]:
    entries: dict[str, Entry] = {}
    for e in heading_entries(doc):
        entries.setdefault(e.id, e)
    owned = owned_prefixes(project, doc)
    prefixes = owned + sorted({e.prefix for e in entries.values()} - set(owned))
    written = _written_ranges(doc)
    several = len(prefixes) > 1
    groups: list[NavGroup] = []
    for p in prefixes:
        t = project.registry.get(p)
        width = t.width if t is not None else 3
        cats = [(c.name, c.first, c.last) for c in t.categories] if t is not None and t.categories else \
            [(n, f, last) for (n, pp, f, last) in written if pp == p]
        mine = sorted((e for e in entries.values() if e.prefix == p), key=id_key)
        placed: set[str] = set()
        for name, first, last in cats:
            items = [e for e in mine if first <= e.number <= last]
            placed.update(e.id for e in items)
            groups.append(NavGroup(name, f"{p}-{first:0{width}d}", f"{p}-{last:0{width}d}",
                                   [_nav_item(e) for e in items]))
        rest = [e for e in mine if e.id not in placed]
        if rest:
            if cats:
                name = f"Other {p}" if several else "Other"
            else:
                name = (t.title if t is not None else p) if several else ""
            groups.append(NavGroup(name, "", "", [_nav_item(e) for e in rest]))
    return groups


def _nav_item(e: Entry) -> dict:
    return {"id": e.id, "href": f"#{e.anchor}" if e.anchor else "", "title": e.title}


def navigation_region(project: Project, doc: Document) -> str:
    from sot_builder.render import render

    groups = navigation_groups(project, doc)
    return render("sync/navigation.md.j2", project.project_dir, groups=[g.__dict__ for g in groups])


# -- placing regions ------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """Where a region's markers go the first time: replace lines [start, end) (0-based)."""

    start: int
    end: int
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()


def _blank(line: str) -> bool:
    return not line.strip()


def _trim_body(doc: Document, first: int, last: int) -> tuple[int, int]:
    """Shrink lines [first, last] (1-based) past blank lines and a closing `---`."""
    while first <= last and _blank(doc.lines[first - 1]):
        first += 1
    while last >= first and (_blank(doc.lines[last - 1]) or _BREAK_RE.match(doc.lines[last - 1])):
        last -= 1
    return first, last


def _navigation_body(doc: Document, first: int, last: int) -> tuple[int, int]:
    """The hand-written navigation: up to its first `---` or HTML comment, blank lines trimmed."""
    while first <= last and (_blank(doc.lines[first - 1]) or _BREAK_RE.match(doc.lines[first - 1])):
        first += 1
    for k in range(first, last + 1):
        line = doc.lines[k - 1]
        if _BREAK_RE.match(line) or line.lstrip().startswith("<!--"):
            last = k - 1
            break
    return _trim_body(doc, first, last)


def _navigation_placement(project: Project, doc: Document) -> Placement | None:
    from sot_builder.navigation import find_navigation

    nav = find_navigation(doc)
    if nav is not None:  # never inside an entry (`find_navigation`)
        first, last = _navigation_body(doc, nav.line + 1, nav.end_line)
        if first <= last:
            return Placement(first - 1, last)
        after = ("",) if nav.line < len(doc.lines) and not _blank(doc.lines[nav.line]) else ()
        return Placement(nav.line, nav.line, ("",), after)
    has_cats = any(project.registry.get(p) is not None and project.registry.get(p).categories
                   for p in owned_prefixes(project, doc))
    entries = heading_entries(doc)
    if not entries and not has_cats:
        return None
    if not entries:
        return _append(doc, NAV_HEADING)
    # before the first entry: at the first `##` (or deeper) heading above it, else right
    # above it (an `# BR-001` entry then follows the navigation)
    first = entries[0].line
    before = next((h.line for h in doc.headings if h.line <= first and (h.level >= 2 or h.line == first)), first)
    lead = ("",) if before > 1 and not _blank(doc.lines[before - 2]) else ()
    return Placement(before - 1, before - 1, (*lead, NAV_HEADING, ""), ("",))


def _append(doc: Document, heading: str, force_gap: bool = False) -> Placement:
    n = len(doc.lines)
    lead = ("",) if force_gap or (n and not _blank(doc.lines[-1])) else ()
    return Placement(n, n, (*lead, heading, ""), ())


def _append_plain(doc: Document, force_gap: bool = False) -> Placement:
    n = len(doc.lines)
    return Placement(n, n, ("",) if force_gap or (n and not _blank(doc.lines[-1])) else (), ())


_FILES_TITLE_RE = re.compile(r"\bfiles?\b", re.IGNORECASE)
_PREFIXES_TITLE_RE = re.compile(r"\bprefix", re.IGNORECASE)
_INDEX_TITLE_RE = re.compile(r"\bindex", re.IGNORECASE)


def _section_heading(doc: Document, title: re.Pattern[str]):
    """The most nested heading whose text matches `title`, outside generated regions."""
    best = None
    for h in doc.headings:
        if not title.search(h.text) or any(r.begin_line < h.line < r.end_line for r in doc.regions):
            continue
        if best is None or h.level > best.level:
            best = h
    return best


def _in_section(doc: Document, title: re.Pattern[str]) -> Placement | None:
    """At the end of the section whose heading matches `title` (an empty `## SoT Files`)."""
    h = _section_heading(doc, title)
    if h is None:
        return None
    end = len(doc.lines)
    for other in doc.headings:
        if other.line > h.line:
            end = other.line - 1
            break
    at = end
    while at > h.line and _blank(doc.lines[at - 1]):
        at -= 1
    after = ("",) if at < len(doc.lines) and not _blank(doc.lines[at]) else ()
    return Placement(at, at, ("",), after)


def _files_placement(doc: Document) -> Placement:
    table = file_table(doc)
    if table is not None:
        return Placement(table.line - 1, table.end_line)
    return _in_section(doc, _FILES_TITLE_RE) or _append(doc, FILES_HEADING)


def _prefixes_placement(doc: Document) -> Placement:
    table = prefix_table(doc)
    if table is not None:
        return Placement(table.line - 1, table.end_line)
    return _in_section(doc, _PREFIXES_TITLE_RE) or _append(doc, PREFIXES_HEADING)


def _index_block(doc: Document) -> tuple[int, int] | None:
    """Lines (1-based, inclusive) of the run of index headings and index tables."""
    tables = index_tables(doc)
    if not tables:
        return None
    marked: set[int] = set()
    for t in tables:
        marked.update(range(t.line, t.end_line + 1))
    heads = {h.line for h in doc.headings if _INDEX_HEAD_RE.match(doc.lines[h.line - 1])}
    marked |= heads
    start = tables[0].line
    k = start - 1
    while k >= 1 and (_blank(doc.lines[k - 1]) or k in heads):
        if k in heads:
            start = k
        k -= 1
    end = start
    for k in range(start, len(doc.lines) + 1):
        if k in marked:
            end = k
        elif not _blank(doc.lines[k - 1]):
            break
    return start, end


def _index_placement(doc: Document, force_gap: bool) -> Placement:
    span = _index_block(doc)
    if span is not None:
        return Placement(span[0] - 1, span[1])
    return _in_section(doc, _INDEX_TITLE_RE) or _append(doc, INDEX_HEADING, force_gap)


def _region_edit(doc: Document, canon: str, body: str, seq: int,
                 placement: Callable[[], Placement | None]) -> Edit | None:
    lines = tuple(body.rstrip("\n").split("\n")) if body.strip("\n") else ()
    region = find_region(doc, canon)
    if region is not None:
        if tuple(doc.lines[region.begin_line: region.end_line - 1]) == lines:
            return None
        return Edit(region.begin_line, region.end_line - 1, lines, seq)
    where = placement()
    if where is None:
        return None
    return Edit(where.start, where.end,
                (*where.before, begin_marker(canon), *lines, end_marker(canon), *where.after), seq)


def region_edits(project: Project, doc: Document) -> list[Edit]:
    """Edits that bring every generated region of `doc` up to date (adopting or creating them)."""
    edits: list[Edit] = []

    def add(edit: Edit | None) -> None:
        if edit is not None:
            edits.append(edit)

    if doc.role == "sot":
        add(_region_edit(doc, "navigation", navigation_region(project, doc), 0,
                         lambda: _navigation_placement(project, doc)))
    elif doc is readme_doc(project):
        placements = {"files": lambda: _files_placement(doc)}
        for seq, (name, gen) in enumerate(REGION_GENERATORS.items()):
            add(_region_edit(doc, name, gen(project), seq, placements.get(name, lambda: None)))
    elif doc is id_system_doc(project):
        appending = find_region(doc, "prefixes") is None and prefix_table(doc) is None
        placements = {"prefixes": lambda: _prefixes_placement(doc),
                      "index": lambda: _index_placement(doc, force_gap=appending)}
        for seq, (name, gen) in enumerate(ID_SYSTEM_GENERATORS.items()):
            add(_region_edit(doc, name, gen(project), seq, placements.get(name, lambda: None)))
    for seq, plugin in enumerate(plugin_regions(), start=10):
        if plugin.path(project) != doc.path:
            continue
        # a plug-in region is kept up to date where it is, and added when configured
        if find_region(doc, plugin.name) is not None or project.config.values.get(plugin.name):
            gap = any(e.start == len(doc.lines) for e in edits)
            add(_region_edit(doc, plugin.name, plugin.generate(project), seq,
                             lambda gap=gap: _append_plain(doc, gap)))
    return edits


def _generators_for(project: Project, doc: Document) -> dict[str, Callable[[], str]]:
    gens: dict[str, Callable[[], str]] = {}
    if doc.role == "sot":
        gens["navigation"] = lambda: navigation_region(project, doc)
    elif doc is readme_doc(project):
        gens.update({k: (lambda g=g: g(project)) for k, g in REGION_GENERATORS.items()})
    elif doc is id_system_doc(project):
        gens.update({k: (lambda g=g: g(project)) for k, g in ID_SYSTEM_GENERATORS.items()})
    for plugin in plugin_regions():
        if plugin.path(project) == doc.path:
            gens[plugin.name] = lambda g=plugin.generate: g(project)
    return gens


def stale_regions(project: Project) -> list[tuple[str, str, Region]]:
    """(path, canonical name, region) of every marked region whose body `sotb sync` would change."""
    out = []
    for doc in project.documents:
        if not doc.regions:
            continue
        for canon, gen in _generators_for(project, doc).items():
            region = find_region(doc, canon)
            if region is None:
                continue
            body = gen()
            lines = tuple(body.rstrip("\n").split("\n")) if body.strip("\n") else ()
            if tuple(doc.lines[region.begin_line: region.end_line - 1]) != lines:
                out.append((doc.path, canon, region))
    return out


# -- back-references --------------------------------------------------------------------------
def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.casefold()).strip()


def _href(source: Entry, target_path: str) -> str:
    if not source.anchor:
        return ""
    if source.path == target_path:
        return f"#{source.anchor}"
    rel = posixpath.relpath(source.path, posixpath.dirname(target_path) or ".")
    return f"{quote(rel, safe='/._-~()')}#{source.anchor}"


def _item(project: Project, m: MissingBackRef) -> str:
    from sot_builder.render import render

    text = render("sync/back_reference.md.j2", project.project_dir, id=m.source.id,
                  href=_href(m.source, m.target.path), title=m.source.title,
                  relation=m.relation, inverse=m.inverse)
    return text.rstrip("\n")


def _own_end(entry: Entry, index: int) -> int:
    """Last line of section `index` before its first sub-section."""
    sec = entry.sections[index]
    for other in entry.sections[index + 1:]:
        if other.line > sec.line:
            return min(sec.end_line, other.line - 1)
    return sec.end_line


def _insert_after_list(doc: Document, line: int, limit: int) -> int:
    """`line` holds a list item: the last line of that item (continuation lines included)."""
    k = line
    while k < limit:
        nxt = doc.lines[k]
        if _blank(nxt) or _LIST_ITEM_RE.match(nxt) or not nxt[:1].isspace():
            break
        k += 1
    return k


def _section_edit(doc: Document, entry: Entry, index: int,
                  items: list[tuple[MissingBackRef, str]], seq: int) -> Edit:
    sec = entry.sections[index]
    own_end = _own_end(entry, index)
    prefixes = {m.source.prefix for m, _ in items}
    same = [r.line for r in entry.refs if sec.line < r.line <= own_end and r.target
            and r.target.split("-", 1)[0] in prefixes and r.kind in ("link", "bare", "code")]
    lines = tuple(text for _, text in items)
    if same:
        at = _insert_after_list(doc, max(same), own_end)
        return Edit(at, at, lines, seq)
    first, last = _trim_body(doc, sec.line + 1, own_end)
    if first <= last:
        if _LIST_ITEM_RE.match(doc.lines[last - 1]) or (doc.lines[last - 1][:1].isspace()):
            return Edit(last, last, lines, seq)
        return Edit(last, last, ("", *lines), seq)
    after = ("",) if sec.line < len(doc.lines) and not _blank(doc.lines[sec.line]) else ()
    return Edit(sec.line, sec.line, ("", *lines, *after), seq)


def _new_sections_edit(project: Project, doc: Document, entry: Entry,
                       groups: dict[str, list[tuple[MissingBackRef, str]]], seq: int) -> Edit:
    from sot_builder.render import render

    levels = [s.level for s in entry.sections if s.level > entry.level]
    level = min(min(levels, default=entry.level + 1), 6)
    blocks: list[str] = []
    for title in sorted(groups):
        text = render("sync/relation_section.md.j2", project.project_dir, hashes="#" * level,
                      title=title, items=[t for _, t in groups[title]])
        blocks.append(text.rstrip("\n"))
    history = next((s for s in entry.sections
                    if "version history" in _norm(s.title) or "changelog" in _norm(s.title)), None)
    if history is not None:
        body: list[str] = []
        if history.line > 1 and not _blank(doc.lines[history.line - 2]):
            body.append("")
        for block in blocks:
            body.extend(block.split("\n"))
            body.append("")
        return Edit(history.line - 1, history.line - 1, tuple(body), seq)
    body = []
    for block in blocks:
        body.append("")
        body.extend(block.split("\n"))
    end = entry.end_line
    if end < len(doc.lines) and not _blank(doc.lines[end]):
        body.append("")
    return Edit(end, end, tuple(body), seq)


def back_reference_edits(project: Project,
                         missing: list[MissingBackRef]) -> dict[str, list[tuple[str, Edit, list[str]]]]:
    """Edits by path: (entry that receives back-references, the edit, the IDs it now names)."""
    by_target: dict[str, list[MissingBackRef]] = {}
    for m in missing:
        if m.target.level > 0:  # a table-row entry has no section to hold it
            by_target.setdefault(m.target.id, []).append(m)
    edits: dict[str, list[tuple[str, Edit, list[str]]]] = {}
    seq = 0
    for ident in sorted(by_target):
        group = sorted(by_target[ident], key=lambda m: id_key(m.source))
        entry = group[0].target
        doc = project.by_path[entry.path]
        existing: dict[int, list[tuple[MissingBackRef, str]]] = {}
        new: dict[str, list[tuple[MissingBackRef, str]]] = {}
        for m in group:
            wanted = {_norm(s) for s in m.sections}
            index = next((k for k, s in enumerate(entry.sections) if _norm(s.title) in wanted), -1)
            if index >= 0:
                sec = entry.sections[index]
                if any(r.target == m.source.id and sec.line < r.line <= sec.end_line for r in entry.refs):
                    continue  # it is there already, under another relation: leave it to the reader
                existing.setdefault(index, []).append((m, _item(project, m)))
            else:
                new.setdefault(m.section, []).append((m, _item(project, m)))
        for index in sorted(existing):
            seq += 1
            edit = _section_edit(doc, entry, index, existing[index], seq)
            edits.setdefault(doc.path, []).append((entry.id, edit, [m.source.id for m, _ in existing[index]]))
        if new and entry.level < 6:
            seq += 1
            edit = _new_sections_edit(project, doc, entry, new, seq)
            sources = [m.source.id for items in new.values() for m, _ in items]
            edits.setdefault(doc.path, []).append((entry.id, edit, sources))
    return edits


def _active_rule(project: Project, code: str):
    """The rule `code` if the configuration selects it (select/ignore), else None."""
    from sot_builder import engine

    return next((r for r in engine.active_rules(project.config.values) if r.code == code), None)


def _allowed_fragment_repairs(project: Project) -> list[FragmentRepair]:
    """Fragment repairs of the links lint would report (SOT203): honours select/ignore and
    suppressions."""
    from sot_builder import engine

    rule = _active_rule(project, "SOT203")
    repairs = fragment_repairs(project) if rule is not None else []
    if not repairs:
        return []
    reported = {(d.path, d.line, d.column) for d in engine.run(project, [rule])}
    return [f for f in repairs if (f.path, f.line, f.column) in reported]


def _by_path(repairs: list[FragmentRepair]) -> dict[str, list[FragmentRepair]]:
    out: dict[str, list[FragmentRepair]] = {}
    for f in repairs:
        out.setdefault(f.path, []).append(f)
    return out


def _repair_fragments(t: TextFile, fixes: list[FragmentRepair]) -> None:
    """Each link's destination replaced where the link writes it; every line keeps its own
    terminator."""
    for f in sorted(fixes, key=lambda f: (f.line, -f.column)):  # right to left: columns stay true
        line = t.lines[f.line - 1]
        at = line.find("](" + f.href, f.column - 1) + 2
        t.lines[f.line - 1] = line[:at] + f.new_href + line[at + len(f.href):]


def _allowed_back_references(project: Project) -> list[MissingBackRef]:
    """Missing back-references that lint would report: honours select/ignore and suppressions."""
    from sot_builder import engine
    from sot_builder.rules.backrefs import diagnostics

    rule = _active_rule(project, "SOT208")
    if rule is None:
        return []
    missing = missing_back_references(project)
    known = replace(rule, check=lambda p: diagnostics(rule, missing))  # computed once, filtered as lint does
    reported = {(d.path, d.ids) for d in engine.run(project, [known])}
    return [m for m in missing if (m.target.path, (m.target.id, m.source.id)) in reported]


# -- planning and writing ---------------------------------------------------------------------
def _frontmatter_text(doc: Document, key: str) -> str:
    value = (doc.frontmatter or {}).get(key)
    return " ".join(str(value).split()) if value not in (None, "") else ""


def _reparse(project: Project, texts: dict[str, TextFile], paths: set[str]) -> Project:
    docs = []
    for d in project.documents:
        if d.path in paths:
            options = parse_options(project.config, project.registry, d.role)
            docs.append(parse_document(texts[d.path].to_bytes(), d.path, d.role, options))
        else:
            docs.append(d)
    return Project(config=project.config, registry=project.registry, documents=docs)


def _read(project: Project, doc: Document) -> TextFile | None:
    path = project.project_dir / doc.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SotbError(f"cannot read file: {exc.strerror or exc}", doc.path)
    if file_sha(data) != doc.sha:
        raise SotbError("file changed while sotb was reading it; run `sotb sync` again", doc.path)
    if doc.problems and any(p.code == "SOT002" for p in doc.problems):
        return None
    try:
        return TextFile(data)
    except UnicodeDecodeError:
        return None


def _targets(project: Project, lines: tuple[str, ...]) -> Counter:
    options = ParseOptions(code_spans=bool(project.config["code_spans"]), entries=False)
    doc = parse_document("\n".join(lines), "inserted.md", "doc", options)
    return Counter(r.target for r in doc.refs if r.target)


def _entry_shape(e: Entry, repaired: bool = False) -> tuple:
    """What sync must not change of an entry; with `repaired` (sync gave links of the file
    their entries' anchors), a field's links are compared by the ID their fragment names."""
    fields = tuple((f.name, _by_fragment_id(f.value) if repaired else f.value) for f in e.fields)
    return (e.id, e.title, e.level, e.deprecated, fields)


_DESTINATION_FRAGMENT_RE = re.compile(r"(\]\([^)\s#]*#)([^)\s]*)")


def _by_fragment_id(value: str) -> str:
    """`value` with each link fragment that names an ID cut to that ID."""
    if "](" not in value:
        return value
    return _DESTINATION_FRAGMENT_RE.sub(lambda m: m.group(1) + (fragment_id(m.group(2).lower()) or m.group(2)),
                                        value)


def _refused(path: str, why: str) -> SotbError:
    return SotbError(f"sync would change entries in ways it does not intend ({why}); nothing written",
                     path)


def _unintended(old: Document, new: Document, intended: dict[str, Counter],
                repaired: bool = False) -> str:
    """How the rewrite `new` of `old` changes entries beyond the intended new references and
    repaired destinations ("" if not)."""
    if [e.id for e in old.entries] != [e.id for e in new.entries]:
        return "the list of entries differs"
    for a, b in zip(old.entries, new.entries):
        if _entry_shape(a, repaired) != _entry_shape(b, repaired):
            return f"{a.id}'s title or fields differ"
        before = Counter(r.target for r in a.refs if r.target)
        after = Counter(r.target for r in b.refs if r.target)
        if before - after:
            return f"{a.id} loses references"
        if after - before != intended.get(a.id, Counter()):
            return f"{a.id} gains unexpected references"
    if Counter(p.code for p in new.problems) - Counter(p.code for p in old.problems):
        return "the result does not parse cleanly"
    return ""


def _verify_all(project: Project, rewritten: dict[str, bytes], intended: dict[str, Counter],
                repaired: set[str] = frozenset()) -> None:
    """Parse every rewritten file and refuse unintended changes; on big batches a forked child
    takes files too, as it is free.

    The refusal given is the one of the first file in path order, as if the files
    were checked one by one.
    """
    def unintended(paths: list[str]) -> list[tuple[str, str]]:
        found = []
        for path in paths:
            old = project.by_path[path]
            new = parse_document(rewritten[path], path, old.role,
                                 parse_options(project.config, project.registry, old.role))
            why = _unintended(old, new, intended, path in repaired)
            if why:
                found.append((path, why))
        return found

    paths = sorted(rewritten, key=lambda p: -len(rewritten[p]))
    processes = int(project.config["jobs"] or 0) or forking.cores()
    if processes < 2 or sum(map(len, rewritten.values())) < VERIFY_PARALLEL_MIN_BYTES:
        found = unintended(paths)
    else:
        # a file at a time, biggest first, to whichever of this process and a child is free
        each = forking.by_tickets(len(paths), lambda k: unintended(paths[k:k + 1]))
        found = [f for part in each for f in part] if each is not None else unintended(paths)
    if found:
        raise _refused(*min(found))


def plan_sync(project: Project) -> SyncResult:
    """What `sotb sync` would write, without writing it. Refuses (SotbError) a project with an
    unreadable file or a registry file that cannot be rewritten safely (`guard.refuse_unsafe`)."""
    from sot_builder.guard import refuse_unsafe

    refuse_unsafe(project)
    texts: dict[str, TextFile] = {}
    originals: dict[str, bytes] = {}
    skipped: dict[str, tuple[str, int, str]] = {}

    def text_of(doc: Document) -> TextFile | None:
        if doc.path not in texts:
            unclosed = unclosed_block(doc)
            if unclosed is not None:
                skipped[doc.path] = (doc.path, unclosed.line, unclosed.message)
                return None
            t = _read(project, doc)
            if t is None:
                return None
            texts[doc.path] = t
            originals[doc.path] = t.to_bytes()
        return texts[doc.path]

    # 1. back-references, then parse the changed files again
    intended: dict[str, Counter] = {}
    added: list[tuple[str, str]] = []
    edits = back_reference_edits(project, _allowed_back_references(project))
    for path, pairs in edits.items():
        t = text_of(project.by_path[path])
        if t is None:
            continue
        t.apply([edit for _, edit, _ in pairs])
        for ident, edit, sources in pairs:
            intended.setdefault(ident, Counter()).update(_targets(project, edit.lines))
            added.extend((ident, source) for source in sources)
    touched = set(edits) & set(texts)
    current = _reparse(project, texts, touched) if touched else project

    # 2. link fragments that name their entry by ID only, then parse those files again
    repaired: list[FragmentRepair] = []
    for path, fixes in _by_path(_allowed_fragment_repairs(current)).items():
        t = text_of(project.by_path[path])
        if t is not None:
            _repair_fragments(t, fixes)
            repaired.extend(fixes)
    if repaired:
        touched |= {f.path for f in repaired}
        current = _reparse(project, texts, touched)

    # 3. generated regions, computed on the updated documents
    for doc in current.documents:
        file_edits = region_edits(current, doc)
        t = text_of(project.by_path[doc.path]) if file_edits else None
        if t is not None:
            t.apply(file_edits)

    # 4. check and collect
    rewritten = {path: texts[path].to_bytes() for path in sorted(texts)}
    rewritten = {path: after for path, after in rewritten.items() if after != originals[path]}
    _verify_all(project, rewritten, intended, {f.path for f in repaired})
    changes = [FileChange(path, originals[path], after) for path, after in rewritten.items()]
    return SyncResult(tuple(changes), False, tuple(sorted(added)), tuple(skipped[p] for p in sorted(skipped)),
                      tuple(repaired))


def sync_project(config: Config, write: bool = True) -> SyncResult:
    """Regenerate generated regions and insert missing back-references.

    With `write=False` nothing is written (the `--check` form); the result
    lists the files that would change and their unified diff either way.
    """
    from sot_builder.fsutil import project_lock

    if not config.root.is_dir():
        return SyncResult()
    lock = project_lock(config.root) if write else contextlib.nullcontext()
    with lock:
        with collector.paused():  # millions of parsed objects and no cycles: see collector
            project = load_project(config)
            result = plan_sync(project)
        if not write or not result.changes:
            return result
        write_changes(config, result.changes, "syncing")
    return replace(result, written=True)


def write_changes(config: Config, changes: Sequence[FileChange], doing: str) -> None:
    """Write each change atomically; the caller holds the project lock. Nothing is written
    when a file no longer holds what its change was made from (`doing`: what sotb was doing)."""
    from sot_builder.fsutil import atomic_write_bytes

    for change in changes:
        try:
            now = (config.project_dir / change.path).read_bytes()
        except OSError as exc:
            raise SotbError(f"cannot read file: {exc.strerror or exc}; nothing written", change.path) from None
        if now != change.before:
            raise SotbError(f"file changed while sotb was {doing}; run `sotb sync` again", change.path)
    for change in changes:
        atomic_write_bytes(config.project_dir / change.path, change.after)
