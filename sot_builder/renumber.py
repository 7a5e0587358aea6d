"""`sotb renumber`: give one entry a new ID and rewrite every reference to it.

Two branches that each added "the next" entry merge into one registry with two
entries under the same ID. `plan_renumber` picks the entry to move (the one the
ledger issued second, or the one named by file and line), finds the new number
(the next free one in its category, or the one asked for) and computes the new
text of every file that mentions it: the heading, explicit anchors, link labels,
link fragments (the GitHub slug of the renamed heading), bare mentions, table
rows, navigation and registry tables. References that could mean either entry
are left alone and listed.

`commit` writes all files or none: every new file is first written next to its
target, a journal in the SoT root records the plan, and only then are the
targets replaced. A run killed before the journal says "committed" is rolled
back by `recover`; one killed after it is rolled forward.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import json
import os
import posixpath
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from sot_builder.config import Config
from sot_builder.diagnostics import SotbError
from sot_builder.hashing import file_sha
from sot_builder.model import Document, Entry, Ref
from sot_builder.parse import ID_RE, fragment_id, newline_of, parse_document, split_id
from sot_builder.paths import RENUMBER_JOURNAL

if TYPE_CHECKING:
    from sot_builder.ledger import Event, Ledger
    from sot_builder.project import Project

JOURNAL_NAME = RENUMBER_JOURNAL
JOURNAL_FORMAT = "sotb-renumber-journal"
NEW_SUFFIX = ".sotb-new"
OLD_SUFFIX = ".sotb-old"
BOM = b"\xef\xbb\xbf"

_ANCHOR_TAG_RE = re.compile(r"(<a\s+(?:[^>]*?\s)?(?:id|name)\s*=\s*[\"'])([^\"']+)([\"'])", re.IGNORECASE)
_ANCHOR_ONLY_RE = re.compile(r"^\s*(?:<a\s[^>]*>\s*</a>\s*)+$", re.IGNORECASE)
_EMPHASIS_RE = re.compile(r"[*_`~]")
_REFDEF_RE = re.compile(r"^ {0,3}\[([^\]]+)\]:[ \t]*<?([^\s>]+)")


# ---------------------------------------------------------------------------
# Which entry moves


def norm_title(title: str) -> str:
    """A title compared loosely: case, spacing and emphasis ignored."""
    return " ".join(_EMPHASIS_RE.sub("", title).casefold().split())


def issued_events(ledger: Ledger | None, ident: str) -> list[Event]:
    """The ledger's `issued` events for `ident`, in file order (each distinct event once)."""
    if ledger is None:
        return []
    return [ev for ev in ledger.events if ev.kind == "issued" and ev.id == ident]


def issue_rank(entry: Entry, issued: Sequence[Event]) -> int | None:
    """Position of the first `issued` event with the entry's title; None when the ledger has none."""
    want = norm_title(entry.title)
    for k, ev in enumerate(issued):
        if norm_title(str(ev.data.get("title", ""))) == want:
            return k
    return None


def is_collision(entries: Sequence[Entry], issued: Sequence[Event]) -> bool:
    """Two different entries under one ID, and the ledger issued the ID more than once."""
    return len({norm_title(e.title) for e in entries}) > 1 and len(issued) > 1


def choose_entry(project: Project, ident: str, file: str = "", line: int = 0,
                 ledger: Ledger | None = None) -> tuple[Entry, list[Entry], str]:
    """(entry to move, the other entries with the same ID, why this one)."""
    defs = list(project.definitions.get(ident, ()))
    if not defs:
        raise SotbError(f"{ident} is defined nowhere")
    if file:
        picked = [e for e in defs if e.path == file and (not line or e.line <= line <= max(e.line, e.end_line))]
        if len(picked) != 1:
            where = ", ".join(f"{e.path}:{e.line}" for e in defs)
            raise SotbError(f"--file {file}{f':{line}' if line else ''} names "
                            f"{'no' if not picked else 'more than one'} definition of {ident} (defined at {where})")
        return picked[0], [e for e in defs if e is not picked[0]], "named by --file"
    if len(defs) == 1:
        return defs[0], [], "the only definition"
    issued = issued_events(ledger, ident)
    ranks = [(issue_rank(e, issued), e) for e in defs]
    top = max(ranks, key=lambda r: _rank_key(r[0]))
    tied = [e for r, e in ranks if _rank_key(r) == _rank_key(top[0])]
    where = "; ".join(f"{e.path}:{e.line} '{e.title}'" for e in defs)
    if len(tied) > 1 or all(r is None for r, _ in ranks):
        raise SotbError(f"{ident} is defined {len(defs)} times ({where}) and the ledger does not tell which "
                        f"was issued later; name the entry to move with --file PATH:LINE")
    mover = top[1]
    reason = ("not issued under this title in the ledger" if top[0] is None
              else f"issued after the other{'s' if len(defs) > 2 else ''} in the ledger "
                   f"(line {issued[top[0]].line})")
    return mover, [e for e in defs if e is not mover], reason


def _rank_key(rank: int | None) -> int:
    return 1 << 30 if rank is None else rank


# ---------------------------------------------------------------------------
# The new ID


def with_number(ident: str, number: int) -> str:
    """`ident` with its number replaced, keeping at least its digit count."""
    head, _, digits = ident.rpartition("-")
    return f"{head}-{number:0{len(digits)}d}"


def used_numbers(project: Project, prefix: str, subtype: str, ledger_ids: Iterable[str]) -> set[int]:
    """Numbers of PREFIX[-SUB] that must not be handed out: see `scaffold.used_numbers`."""
    from sot_builder import scaffold

    t = project.registry.get(prefix)
    if not subtype and t is not None and t.prefix == prefix:
        return scaffold.used_numbers(project, t, ledger_ids)
    used: set[int] = set()
    names = list(project.definitions) + list(ledger_ids)
    for doc in project.documents:
        names.extend(scaffold.deprecated_mentions(doc))
        names.extend(r.target for r in doc.refs if r.target)
    for ident in names:
        parts = split_id(ident)
        if parts and parts[0] == prefix and parts[1] == subtype:
            used.add(parts[2])
    return used


def new_id(project: Project, entry: Entry, to: str = "", reserve: bool = False,
           ledger_ids: Iterable[str] = ()) -> str:
    """The ID `entry` moves to: `to` when given (checked), else the next free one in its category."""
    known = set(ledger_ids)
    used = used_numbers(project, entry.prefix, entry.subtype, known)
    if to:
        parts = split_id(to)
        if parts is None:
            raise SotbError(f"--to {to} is not an ID (PREFIX-NNN)")
        if parts[:2] != (entry.prefix, entry.subtype):
            raise SotbError(f"--to {to} must keep the prefix of {entry.id}")
        if to in project.definitions:
            raise SotbError(f"{to} is already defined at {project.definitions[to][0].path}:"
                            f"{project.definitions[to][0].line}")
        if to in known:
            raise SotbError(f"{to} was issued before (the ledger knows it); an ID is never reused")
        if parts[2] in used:
            raise SotbError(f"{to} is already in use (referenced or listed as deprecated)")
        return to
    first, last = _category_range(project, entry)
    if reserve:
        number = _reserve(project, entry, first, last, used)
    else:
        from sot_builder.scaffold import next_number

        found = next_number(first, last, used)
        if found is None:
            raise SotbError(f"no free number left for {entry.id} between {with_number(entry.id, first)} "
                            f"and {with_number(entry.id, last)}; choose one with --to")
        number = found
    return with_number(entry.id, number)


def _category_range(project: Project, entry: Entry) -> tuple[int, int]:
    t = project.registry.get(entry.prefix)
    digits = len(entry.id.rpartition("-")[2])
    if t is None or entry.subtype:
        return 1, 10**digits - 1
    cat = t.category_of(entry.number)
    if cat is None:
        cat = t.categories[0] if t.categories else None
    return (cat.first, cat.last) if cat else (1, 10**t.width - 1)


def _reserve(project: Project, entry: Entry, first: int, last: int, used: set[int]) -> int:
    from sot_builder.reserve import open_store, store_url

    url = store_url(project.config["reservation_db"])
    if not url:
        raise SotbError("--reserve needs a reservation store: set reservation_db in the "
                        "configuration or SOTB_RESERVATION_DB")
    key = entry.id.rpartition("-")[0]
    with open_store(url, base=project.config.project_dir) as store:
        return store.reserve(key, first, last, taken=used, who=os.environ.get("USER", ""))


# ---------------------------------------------------------------------------
# Editable text


class TextLines:
    """A file's lines numbered as the parser numbers them, edited by column spans."""

    def __init__(self, data: bytes) -> None:
        self.bom = data.startswith(BOM)
        text = (data[len(BOM):] if self.bom else data).decode("utf-8")
        self.end = newline_of(text)[-1]  # "\r" in a classic Mac file (no LF), else "\n"
        self.parts = text.split(self.end)  # the last part is "" when the file ends with a newline
        self.edits: dict[int, dict[tuple[int, int], str]] = defaultdict(dict)
        self.version = 0  # counts the edits made

    def line(self, lineno: int) -> str:
        if not 1 <= lineno <= len(self.parts):
            return ""
        return self.parts[lineno - 1].removesuffix("\r")

    def replace(self, lineno: int, start: int, end: int, text: str) -> bool:
        """Replace columns [start, end) (0-based) of a line; False when the span overlaps another edit."""
        spans = self.edits[lineno]
        if (start, end) in spans:
            return spans[(start, end)] == text
        if any(a < end and start < b for a, b in spans):
            return False
        spans[(start, end)] = text
        self.version += 1
        return True

    def result(self) -> bytes:
        parts = list(self.parts)
        for lineno, spans in self.edits.items():
            raw = parts[lineno - 1]
            cr = "\r" if raw.endswith("\r") else ""
            content = raw.removesuffix("\r")
            for (a, b), text in sorted(spans.items(), reverse=True):
                content = content[:a] + text + content[b:]
            parts[lineno - 1] = content + cr
        data = self.end.join(parts).encode("utf-8")
        return BOM + data if self.bom else data


def id_spans(text: str, ident: str) -> list[tuple[int, int]]:
    """Where `ident` occurs in `text` as a whole ID."""
    return [m.span() for m in ID_RE.finditer(text) if m.group(0) == ident]


def link_spans(line: str, ref: Ref) -> tuple[tuple[int, int], tuple[int, int] | None] | None:
    """(label span, fragment span or None) of a link ref on its line; None when it is not found there."""
    start = ref.column - 1 + (1 if ref.is_image else 0)
    if line[start:start + 1] != "[" or not line.startswith(ref.label, start + 1):
        return None
    label = (start + 1, start + 1 + len(ref.label))
    after = label[1]
    if line.startswith("][", after) or not line.startswith("](", after):
        return label, None  # a reference-style link: the destination is elsewhere
    k = after + 2
    while k < len(line) and line[k] in " \t":
        k += 1
    if line[k:k + 1] == "<":
        k += 1
    if not ref.href or not line.startswith(ref.href, k):
        return label, None
    path, hash_, fragment = ref.href.partition("#")
    if not hash_:
        return label, None
    frag_start = k + len(path) + 1
    return label, (frag_start, frag_start + len(fragment))


# ---------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class FileChange:
    path: str  # relative to the project dir, "/" separated
    before: bytes
    after: bytes

    def diff(self) -> str:
        a = self.before.decode("utf-8", errors="replace").splitlines(keepends=True)
        b = self.after.decode("utf-8", errors="replace").splitlines(keepends=True)
        out = []
        for line in difflib.unified_diff(a, b, f"a/{self.path}", f"b/{self.path}"):
            out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
        return "".join(out)


@dataclass(frozen=True)
class Mention:
    path: str
    line: int
    column: int
    kind: str  # "heading" | "anchor" | "link" | "fragment" | "bare" | "code" | "table"


@dataclass(frozen=True)
class Plan:
    old: str
    new: str
    entry: Entry  # the entry that moves, as it is before the move
    others: tuple[Entry, ...]  # entries that keep the old ID
    reason: str
    changes: tuple[FileChange, ...] = ()
    rewritten: tuple[Mention, ...] = ()
    ambiguous: tuple[Mention, ...] = ()  # mentions of the old ID that may mean another entry
    event: Mapping[str, Any] | None = None  # the ledger event, with parents and hash

    @property
    def diff(self) -> str:
        return "".join(c.diff() for c in self.changes)

    @property
    def files(self) -> list[str]:
        return [c.path for c in self.changes]


@dataclass
class _Work:
    """Mutable state while planning."""

    project: Project
    old: str
    new: str
    mover: Entry
    others: list[Entry]
    foreign: frozenset[str]
    texts: dict[str, TextLines] = field(default_factory=dict)
    rewritten: list[Mention] = field(default_factory=list)
    ambiguous: list[Mention] = field(default_factory=list)
    meant: set[tuple[str, int, int]] = field(default_factory=set)  # links that mean the moving entry
    moved_refs: set[tuple[str, int, int]] = field(default_factory=set)  # refs that now name the new ID
    anchor_docs: set[str] = field(default_factory=set)  # documents whose explicit anchors were renamed
    parses: dict[tuple[str, int], Document] = field(default_factory=dict)

    def parsed(self, doc: Document, text: TextLines) -> Document:
        """The document as `text` now reads, parsed once per state of its edits."""
        key = (doc.path, text.version)
        if key not in self.parses:
            self.parses[key] = _parse(self.project, doc, text.result())
        return self.parses[key]

    def text(self, doc: Document) -> TextLines | None:
        if doc.path not in self.texts:
            data = _read(self.project, doc)
            if data is None:
                return None
            self.texts[doc.path] = TextLines(data)
        return self.texts[doc.path]


def _read(project: Project, doc: Document) -> bytes | None:
    path = project.project_dir / doc.path
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SotbError(f"cannot read file: {exc.strerror or exc}", doc.path)
    if doc.sha and file_sha(data) != doc.sha:
        raise SotbError("file changed while sotb was reading it; run the command again", doc.path)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        return None
    try:
        data[len(BOM) if data.startswith(BOM) else 0:].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return data


def plan_renumber(project: Project, ident: str, to: str = "", file: str = "", line: int = 0,
                  reserve: bool = False, date: str | None = None) -> Plan:
    """Everything `sotb renumber` would write, without writing it."""
    from sot_builder import ledger as ledger_mod
    from sot_builder.guard import refuse_unreadable

    refuse_unreadable(project)  # references in a file sotb cannot read would keep the old ID
    ledger = ledger_mod.load_ledger(project.config)
    if ledger is not None and ledger.problems:
        first = ledger.problems[0]
        raise SotbError(f"the ledger is damaged ({first.message}); restore it from version control",
                        ledger_mod.ledger_rel(project.config), first.line)
    mover, others, reason = choose_entry(project, ident, file, line, ledger)
    known = ledger_mod.known_ids(ledger) if ledger is not None else set()
    target = new_id(project, mover, to, reserve, known)
    work = _Work(project, ident, target, mover, others, _foreign_names(project))
    _rewrite_definition(work)
    _rewrite_mentions(work)
    _rewrite_fragments(work)
    changes = _check_and_collect(work)
    event = None
    ledger_change = _ledger_change(project.config, ledger, work, date or ledger_mod.today())
    if ledger_change is not None:
        change, event = ledger_change
        changes.append(change)
    return Plan(ident, target, mover, tuple(others), reason, tuple(changes), tuple(work.rewritten),
                tuple(work.ambiguous), event)


def _foreign_names(project: Project) -> frozenset[str]:
    names = set((project.config.values.get("portfolio") or {}).keys())
    return frozenset(names | {"portfolio"})


def _is_foreign(work: _Work, doc: Document, ref: Ref) -> bool:
    from sot_builder.portfolio import is_foreign_ref

    return is_foreign_ref(doc, ref, work.foreign)


# -- the entry itself --------------------------------------------------------------


def _rewrite_definition(work: _Work) -> None:
    e = work.mover
    doc = work.project.by_path[e.path]
    text = work.text(doc)
    if text is None:
        raise SotbError(f"cannot rewrite {e.path}: not UTF-8 text", e.path)
    line = text.line(e.line)
    at = e.column - 1
    span = (at, at + len(work.old)) if line[at:at + len(work.old)] == work.old else None
    if span is None:
        spans = id_spans(line, work.old)
        span = spans[0] if spans else None
    if span is None or not text.replace(e.line, span[0], span[1], work.new):
        raise SotbError(f"cannot find {work.old} on its heading line", e.path, e.line)
    work.rewritten.append(Mention(e.path, e.line, span[0] + 1, "heading"))
    low_old, low_new = work.old.lower(), work.new.lower()
    for lineno in _anchor_lines(doc, e):
        raw = text.line(lineno)
        for m in _ANCHOR_TAG_RE.finditer(raw):
            value = m.group(2)
            renamed = _renamed_anchor(value, low_old, low_new, work.old, work.new)
            if renamed and text.replace(lineno, m.start(2), m.end(2), renamed):
                work.anchor_docs.add(e.path)
                work.rewritten.append(Mention(e.path, lineno, m.start(2) + 1, "anchor"))
        for m in re.finditer(r"\{#([^}\s]+)\}", raw):
            renamed = _renamed_anchor(m.group(1), low_old, low_new, work.old, work.new)
            if renamed and text.replace(lineno, m.start(1), m.end(1), renamed):
                work.anchor_docs.add(e.path)
                work.rewritten.append(Mention(e.path, lineno, m.start(1) + 1, "anchor"))


def _renamed_anchor(value: str, low_old: str, low_new: str, old: str, new: str) -> str:
    for a, b in ((low_old, low_new), (old, new)):
        if value == a or value.startswith(a + "-"):
            return b + value[len(a):]
    return ""


def _anchor_lines(doc: Document, e: Entry) -> list[int]:
    """Lines that may hold the entry's explicit anchors: its own, and anchor-only lines right above it."""
    out = []
    k = e.line - 1
    while k >= 1 and _ANCHOR_ONLY_RE.match(doc.lines[k - 1]):
        out.append(k)
        k -= 1
    end = e.end_line if e.level else e.line
    out.extend(range(e.line, max(e.line, end) + 1))
    return out


# -- references --------------------------------------------------------------------


def _rewrite_mentions(work: _Work) -> None:
    project = work.project
    decided: dict[tuple[str, str], set[str]] = defaultdict(set)
    pending: list[tuple[Document, Ref, tuple[str, str]]] = []
    for doc in project.documents:
        for ref in doc.refs:
            if ref.target != work.old or _is_foreign(work, doc, ref):
                continue
            verdict = _classify(work, doc, ref)
            scope = (doc.path, ref.source)
            if verdict == "?":
                pending.append((doc, ref, scope))
                continue
            decided[scope].add(verdict)
            decided[(doc.path, "*")].add(verdict)
            if verdict == "mover":
                _rewrite_ref(work, doc, ref)
    for doc, ref, scope in pending:
        seen = decided.get(scope) or (decided.get((doc.path, "*")) if not ref.source else None) or set()
        if seen == {"mover"}:
            _rewrite_ref(work, doc, ref)
        elif seen != {"other"}:
            work.ambiguous.append(Mention(doc.path, ref.line, ref.column, ref.kind))


def _inside(ref: Ref, doc: Document, e: Entry) -> bool:
    return doc.path == e.path and e.level > 0 and e.line <= ref.line <= e.end_line or (
        doc.path == e.path and e.level == 0 and ref.line == e.line)


def _classify(work: _Work, doc: Document, ref: Ref) -> str:
    """"mover", "other" or "?" (undecided) for a reference to the old ID."""
    if not work.others:
        return "mover"
    if ref.kind == "link" and ref.fragment:  # the anchor a link lands on says the most
        path, inside = work.project.resolve_link(doc.path, ref.file)
        frag = unquote(ref.fragment).lower()
        if inside:
            if path == work.mover.path and frag in {a.lower() for a in work.mover.anchors}:
                return "mover"
            if any(path == o.path and frag in {a.lower() for a in o.anchors} for o in work.others):
                return "other"
    if _inside(ref, doc, work.mover):
        return "mover"
    for e in work.others:
        if _inside(ref, doc, e):
            return "other"
    by_title = _by_title(work, doc, ref)
    return by_title or "?"


def _by_title(work: _Work, doc: Document, ref: Ref) -> str:
    """Decide by a title next to the mention: a link's description or a cell of its table row."""
    texts = []
    if ref.kind == "link" and ref.note:
        texts.append(ref.note)
    line = doc.lines[ref.line - 1] if 0 < ref.line <= len(doc.lines) else ""
    if line.lstrip().startswith("|"):
        texts.extend(c for c in re.split(r"(?<!\\)\|", line) if c.strip())
    mine, theirs = norm_title(work.mover.title), {norm_title(o.title) for o in work.others}
    hits = set()
    for t in texts:
        n = norm_title(re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", t))
        if n == mine or (ref.kind == "link" and n.startswith(mine + " ")):
            hits.add("mover")
        if n in theirs:
            hits.add("other")
    return hits.pop() if len(hits) == 1 else ""


def _rewrite_ref(work: _Work, doc: Document, ref: Ref) -> None:
    text = work.text(doc)
    if text is None:
        work.ambiguous.append(Mention(doc.path, ref.line, ref.column, ref.kind))
        return
    line = text.line(ref.line)
    if ref.kind == "link":
        spans = link_spans(line, ref)
        if spans is None:
            work.ambiguous.append(Mention(doc.path, ref.line, ref.column, ref.kind))
            return
        (a, _b), _frag = spans
        key = (doc.path, ref.line, ref.column)
        work.meant.add(key)
        found = id_spans(ref.label, work.old)
        if found and all(text.replace(ref.line, a + s, a + e, work.new) for s, e in found):
            work.moved_refs.add(key)
            work.rewritten.append(Mention(doc.path, ref.line, ref.column, "link"))
        return  # a label without the ID: the link names it by its fragment, rewritten below
    at = ref.column - 1
    if line[at:at + len(work.old)] != work.old or not text.replace(ref.line, at, at + len(work.old), work.new):
        work.ambiguous.append(Mention(doc.path, ref.line, ref.column, ref.kind))
        return
    work.moved_refs.add((doc.path, ref.line, ref.column))
    work.rewritten.append(Mention(doc.path, ref.line, ref.column, ref.kind))


# -- fragments: links to headings whose slug changed --------------------------------


def _rewrite_fragments(work: _Work) -> None:
    project = work.project
    slug_maps: dict[str, dict[str, str]] = {}
    explicit_maps: dict[str, dict[str, str]] = {}
    for path, text in work.texts.items():
        old_doc = project.by_path[path]
        heading_lines = {h.line for h in old_doc.headings}
        if not any(n in heading_lines for n in text.edits) and not work.anchor_docs & {path}:
            slug_maps[path], explicit_maps[path] = {}, {}  # no heading or anchor changed
            continue
        new_doc = work.parsed(old_doc, text)
        slug_maps[path] = {a.slug: b.slug for a, b in zip(old_doc.headings, new_doc.headings) if a.slug != b.slug}
        gone = {a.lower() for a in old_doc.explicit_anchors} - {a.lower() for a in new_doc.explicit_anchors}
        low_old, low_new = work.old.lower(), work.new.lower()
        explicit_maps[path] = {a: _renamed_anchor(a, low_old, low_new, low_old, low_new) for a in gone
                               if _renamed_anchor(a, low_old, low_new, low_old, low_new)}
    if not any(slug_maps.values()) and not any(explicit_maps.values()):
        return
    for doc in project.documents:
        for ref in doc.refs:
            if ref.kind != "link" or not ref.fragment or "://" in ref.href:
                continue
            path, inside = project.resolve_link(doc.path, ref.file)
            if not inside or path not in slug_maps:
                continue
            key = (doc.path, ref.line, ref.column)
            frag = unquote(ref.fragment)
            new = slug_maps[path].get(frag) or slug_maps[path].get(frag.lower())
            if new is None and (key in work.meant or not work.others):
                new = explicit_maps[path].get(frag.lower())
            if not new:
                continue
            source = work.text(doc)
            spans = link_spans(source.line(ref.line), ref) if source is not None else None
            if source is not None and spans is not None and _reference_style(source.line(ref.line), spans):
                continue  # its destination is a link reference definition, rewritten below
            if source is None or spans is None or spans[1] is None:
                work.ambiguous.append(Mention(doc.path, ref.line, ref.column, "fragment"))
                continue
            written = quote(new, safe="-_") if "%" in ref.fragment else new
            if not source.replace(ref.line, spans[1][0], spans[1][1], written):
                work.ambiguous.append(Mention(doc.path, ref.line, ref.column, "fragment"))
                continue
            work.rewritten.append(Mention(doc.path, ref.line, ref.column, "fragment"))
            if ref.target and not ID_RE.search(ref.label) and fragment_id(new.lower()) != ref.target:
                work.moved_refs.add(key)  # the link names its ID by the fragment only
    _rewrite_definitions(work, slug_maps, explicit_maps)


def _reference_style(line: str, spans: tuple[tuple[int, int], tuple[int, int] | None]) -> bool:
    return spans[1] is None and line.startswith("][", spans[0][1])


def _rewrite_definitions(work: _Work, slug_maps: dict[str, dict[str, str]],
                         explicit_maps: dict[str, dict[str, str]]) -> None:
    """Fragments in link reference definitions (`[key]: path#fragment`)."""
    project = work.project
    for doc in project.documents:
        renamed: dict[str, str] = {}  # old destination -> new destination
        for lineno, line in enumerate(doc.lines, start=1):
            m = _REFDEF_RE.match(line)
            if m is None or "#" not in m.group(2) or "://" in m.group(2):
                continue
            file, _, frag = m.group(2).partition("#")
            path, inside = project.resolve_link(doc.path, unquote(file))
            if not inside or path not in slug_maps:
                continue
            plain = unquote(frag)
            new = slug_maps[path].get(plain) or slug_maps[path].get(plain.lower())
            if new is None and not work.others:
                new = explicit_maps[path].get(plain.lower())
            source = work.text(doc) if new else None
            if source is None or not new:
                continue
            written = quote(new, safe="-_") if "%" in frag else new
            start = m.start(2) + len(file) + 1
            if source.replace(lineno, start, start + len(frag), written):
                renamed[m.group(2)] = f"{file}#{written}"
                work.rewritten.append(Mention(doc.path, lineno, start + 1, "fragment"))
        for ref in doc.refs if renamed else ():
            new_href = renamed.get(ref.href)
            if (ref.kind == "link" and new_href and ref.target and not ID_RE.search(ref.label)
                    and fragment_id(new_href.partition("#")[2].lower()) != ref.target):
                work.moved_refs.add((doc.path, ref.line, ref.column))


def _parse(project: Project, doc: Document, data: bytes) -> Document:
    from sot_builder.project import parse_options

    return parse_document(data, doc.path, doc.role, parse_options(project.config, project.registry, doc.role))


# -- checking the result -----------------------------------------------------------


def _check_and_collect(work: _Work) -> list[FileChange]:
    """Parse every rewritten file again; refuse when it changed in any way but the intended one."""
    project = work.project
    out = []
    for path in sorted(work.texts):
        text = work.texts[path]
        after = text.result()
        before = (project.project_dir / path).read_bytes()
        if after == before:
            continue
        old_doc = project.by_path[path]
        _verify(work, old_doc, work.parsed(old_doc, text))
        out.append(FileChange(path, before, after))
    return out


def _verify(work: _Work, old: Document, new: Document) -> None:
    def refuse(why: str) -> None:
        raise SotbError(f"renumbering would change {old.path} in ways it does not intend ({why}); "
                        "nothing written", old.path)

    def moved(e: Entry) -> bool:
        return e.path == work.mover.path and e.line == work.mover.line

    want_ids = [work.new if moved(e) else e.id for e in old.entries]
    if want_ids != [e.id for e in new.entries]:
        refuse("the list of entries differs")
    for a, b in zip(old.entries, new.entries):
        if _shape(a) != _shape(b):
            refuse(f"{a.id}'s title or fields differ")
    expected = Counter(
        work.new if (old.path, r.line, r.column) in work.moved_refs else r.target
        for r in old.refs if r.target
    )
    if Counter(r.target for r in new.refs if r.target) != expected:
        refuse("its references differ")
    if Counter(p.code for p in new.problems) - Counter(p.code for p in old.problems):
        refuse("the result does not parse cleanly")


_ANY_ID_RE = re.compile(r"(?i)(?<![a-z0-9_])[a-z]{2,5}(?:-[a-z]{2,5})?-\d{3,9}(?![0-9])")


def _shape(e: Entry) -> tuple:
    def plain(text: str) -> str:  # IDs and the anchors made from them may change
        return _ANY_ID_RE.sub("ID", text)

    return (plain(e.title), e.level, e.deprecated, tuple((f.name, plain(f.value)) for f in e.fields))


# -- the ledger --------------------------------------------------------------------


def _ledger_change(config: Config, ledger: Ledger | None, work: _Work,
                   date: str) -> tuple[FileChange, dict[str, Any]] | None:
    from sot_builder import ledger as ledger_mod

    if ledger is None:
        return None
    path = ledger_mod.ledger_path(config)
    before = path.read_bytes()
    root = config.root_rel
    file = work.mover.path if root == "." else posixpath.relpath(work.mover.path, root)
    event = {"event": "renumbered", "id": work.old, "from": work.old, "to": work.new,
             "title": work.mover.title, "file": file}
    [data] = ledger_mod.chain([event], ledger.tips(), date)
    newline = b"\r\n" if b"\r\n" in before else b"\n"
    prefix = before if not before or before.endswith(b"\n") else before + newline
    after = prefix + event_line(data).encode("utf-8") + newline
    return FileChange(ledger_mod.ledger_rel(config), before, after), data


def event_line(data: Mapping[str, Any]) -> str:
    """One ledger line, keys in the ledger's usual order."""
    from sot_builder.ledger import KEY_ORDER

    ordered = {k: data[k] for k in KEY_ORDER if k in data}
    ordered.update({k: v for k, v in sorted(data.items()) if k not in ordered})
    return json.dumps(ordered, ensure_ascii=False)


# ---------------------------------------------------------------------------
# All-or-nothing writing


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def journal_path(config: Config) -> Path:
    return config.root / JOURNAL_NAME


def _side_file(target: Path, token: str, suffix: str) -> Path:
    return target.with_name(f".{target.name}.{token}{suffix}")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(path, mode)


def _backup(target: Path, backup: Path) -> None:
    try:
        os.link(target, backup)  # the old inode stays reachable after the target is replaced
    except OSError:
        _write_new(backup, target.read_bytes(), target.stat().st_mode & 0o7777)


def _replace(src: Path, dst: Path) -> None:
    os.replace(src, dst)


def _write_journal(config: Config, journal: Mapping[str, Any]) -> None:
    from sot_builder.fsutil import atomic_write_bytes

    atomic_write_bytes(journal_path(config), (json.dumps(journal, indent=1) + "\n").encode("utf-8"))


def commit(config: Config, changes: Sequence[FileChange], about: Mapping[str, Any]) -> None:
    """Replace every changed file, all or none. The caller holds the project lock.

    1. the journal is written in state "prepared" (the plan: targets, side files, hashes);
    2. each new file is written and synced next to its target, and each target gets a backup link;
    3. the journal is rewritten in state "committed" — the point of no return;
    4. the targets are replaced; the backups and the journal are removed.
    A run killed before 3 is rolled back by `recover`, one killed after it rolled forward.
    """
    base = config.project_dir
    token = secrets.token_hex(6)
    items = []
    for c in changes:
        target = base / c.path
        items.append({"path": c.path, "new": _side_file(target, token, NEW_SUFFIX).name,
                      "old": _side_file(target, token, OLD_SUFFIX).name,
                      "before": _sha(c.before), "after": _sha(c.after)})
    journal = {"format": JOURNAL_FORMAT, "version": 1, "state": "prepared", "renumber": dict(about),
               "files": items}
    _write_journal(config, journal)
    try:
        for c, item in zip(changes, items):
            target = base / c.path
            if target.read_bytes() != c.before:
                raise SotbError("file changed while sotb was renumbering; nothing written", c.path)
            _write_new(target.with_name(item["new"]), c.after, target.stat().st_mode & 0o7777)
            _backup(target, target.with_name(item["old"]))
        for folder in {(base / c.path).parent for c in changes}:
            _fsync_dir(folder)
        journal["state"] = "committed"
        _write_journal(config, journal)
    except BaseException as exc:
        _roll_back_prepared(config, journal)
        if isinstance(exc, OSError) and not isinstance(exc, SotbError):  # a read-only folder, a full disk
            raise SotbError(f"cannot write: {exc.strerror or exc}; nothing written",
                            str(exc.filename or config.root)) from None
        raise
    _roll_forward(config, journal)


def _targets(config: Config, journal: Mapping[str, Any]) -> Iterator[tuple[dict, Path, Path, Path]]:
    for item in journal["files"]:
        target = config.project_dir / item["path"]
        yield item, target, target.with_name(item["new"]), target.with_name(item["old"])


def _file_sha(path: Path) -> str | None:
    try:
        return _sha(path.read_bytes())
    except FileNotFoundError:
        return None


def _roll_back_prepared(config: Config, journal: Mapping[str, Any]) -> None:
    """Before the commit point no target was touched: remove the side files and the journal."""
    for _item, _target, new, old in _targets(config, journal):
        for side in (new, old):
            with contextlib.suppress(FileNotFoundError):
                side.unlink()
    _remove_journal(config)


def _roll_forward(config: Config, journal: Mapping[str, Any]) -> None:
    folders = set()
    for item, target, new, _old in _targets(config, journal):
        if _file_sha(target) != item["after"]:
            _replace(new, target)
            folders.add(target.parent)
    for folder in folders:
        _fsync_dir(folder)
    _finish(config, journal)


def _finish(config: Config, journal: Mapping[str, Any]) -> None:
    for _item, _target, new, old in _targets(config, journal):
        for side in (new, old):
            with contextlib.suppress(FileNotFoundError):
                side.unlink()
    _remove_journal(config)


def _remove_journal(config: Config) -> None:
    with contextlib.suppress(FileNotFoundError):
        journal_path(config).unlink()
    _fsync_dir(config.root)


@dataclass(frozen=True)
class Recovery:
    action: str  # "rolled back" | "rolled forward"
    old: str
    new: str
    files: tuple[str, ...]


def read_journal(config: Config) -> dict[str, Any] | None:
    path = journal_path(config)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SotbError(f"cannot read the renumber journal: {exc}", str(path))
    if not isinstance(data, dict) or data.get("format") != JOURNAL_FORMAT or not isinstance(data.get("files"), list):
        raise SotbError("not a renumber journal; remove it by hand", str(path))
    return data


def recover(config: Config) -> Recovery | None:
    """Finish or undo a renumber that was interrupted; the caller holds the project lock."""
    journal = read_journal(config)
    if journal is None:
        return None
    about = journal.get("renumber") or {}
    files = tuple(item["path"] for item in journal["files"])
    done = Recovery("rolled back", str(about.get("from", "")), str(about.get("to", "")), files)
    if journal.get("state") != "committed":
        _roll_back_prepared(config, journal)
        return done
    states = []
    for item, target, new, old in _targets(config, journal):
        now = _file_sha(target)
        if now == item["after"]:
            states.append("after")
        elif now == item["before"] and _file_sha(new) == item["after"]:
            states.append("ready")
        elif now == item["before"]:
            states.append("lost")
        else:
            raise SotbError(
                f"{item['path']} changed after a renumber of {done.old} was interrupted; compare it with "
                f"{new.name} (the renumbered version) by hand, then delete {JOURNAL_NAME} and the "
                f"{NEW_SUFFIX}/{OLD_SUFFIX} files", str(journal_path(config)))
    if "lost" not in states:
        _roll_forward(config, journal)
        return Recovery("rolled forward", done.old, done.new, files)
    # a new file is missing or damaged: put the replaced targets back from their backups
    for (item, target, _new, old), state in zip(_targets(config, journal), states):
        if state == "after":
            if _file_sha(old) != item["before"]:
                raise SotbError(f"cannot undo the interrupted renumber of {done.old}: the backup of "
                                f"{item['path']} is missing", str(journal_path(config)))
            _replace(old, target)
    _finish(config, journal)
    return done


# ---------------------------------------------------------------------------
# The whole command


@dataclass(frozen=True)
class Result:
    plan: Plan | None
    recovered: Recovery | None = None
    written: bool = False
    synced: tuple[str, ...] = ()
    sync_error: str = ""


def renumber(config: Config, ident: str, to: str = "", file: str = "", line: int = 0,
             reserve: bool = False, dry_run: bool = False, sync: bool = True,
             date: str | None = None) -> Result:
    """Renumber `ident` under the project lock; an interrupted earlier run is finished first.

    When an interrupted run had to be finished, nothing else is done (the IDs
    may have changed): the result carries the recovery and no plan.
    """
    from sot_builder.fsutil import project_lock
    from sot_builder.project import load_project

    if dry_run:
        if read_journal(config) is not None:
            raise SotbError("an interrupted renumber must be finished first: run `sotb renumber --recover`",
                            str(journal_path(config)))
        project = load_project(config)
        return Result(plan_renumber(project, ident, to, file, line, False, date))
    with project_lock(config.root):
        recovered = recover(config)
        if recovered is not None:
            return Result(None, recovered)
        project = load_project(config)  # every file read for rewriting is checked against its hash
        plan = plan_renumber(project, ident, to, file, line, reserve, date)
        about = {"from": plan.old, "to": plan.new, "entry": f"{plan.entry.path}:{plan.entry.line}"}
        commit(config, plan.changes, about)
        synced, error = _sync(config) if sync else ((), "")
    return Result(plan, None, True, synced, error)


def recover_only(config: Config) -> Recovery | None:
    from sot_builder.fsutil import project_lock

    with project_lock(config.root):
        return recover(config)


def _sync(config: Config) -> tuple[tuple[str, ...], str]:
    """Regenerate navigation and registry tables; the renumber itself is already complete."""
    try:
        from sot_builder.scaffold import run_sync
    except ImportError:
        return (), ""
    try:
        return tuple(run_sync(config)), ""
    except SotbError as exc:
        return (), str(exc)
