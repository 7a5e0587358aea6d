"""Questions about one entry: show it, who points at it, its context pack, the next free ID."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sot_builder.diagnostics import SotbError
from sot_builder.graph import MENTIONS, Graph, build_graph, distances
from sot_builder.model import Document, Entry
from sot_builder.output.text import plural
from sot_builder.registry import TypeDef


@dataclass(frozen=True)
class Backlink:
    """A reference to an entry, seen from the entry it points at."""

    source: str  # ID of the entry holding the reference ("" outside entries)
    path: str
    line: int
    column: int
    relation: str  # relation as the source states it ("" = plain mention)
    inverse: str  # the same relation seen from the target
    kind: str


@dataclass(frozen=True)
class Outgoing:
    target: str
    relation: str
    line: int
    defined: bool
    title: str = ""


def find_entry(project, ident: str) -> Entry:
    """The entry defining `ident`; SotbError (exit 2) when none does."""
    key = ident.strip().upper()
    found = project.entry(key)
    if found is None:
        raise SotbError(f"unknown ID {ident.strip()}: no entry defines it")
    return found


def backlinks(project, ident: str) -> list[Backlink]:
    """Every reference to `ident` from elsewhere (its own mentions excluded), in file order."""
    out: list[Backlink] = []
    for doc in project.documents:
        prefix_of = {e.id: e.prefix for e in doc.entries}
        for ref in doc.refs:
            if ref.target != ident or ref.source == ident:
                continue
            relation = ""
            if ref.source:
                prefix = prefix_of.get(ref.source) or ref.source.split("-", 1)[0]
                relation = project.registry.relation_of(prefix, ref)
            inverse = project.registry.inverse_of(relation) if relation else ""
            out.append(Backlink(ref.source, doc.path, ref.line, ref.column, relation, inverse,
                                ref.kind))
    return out


def outgoing(project, entry: Entry) -> list[Outgoing]:
    """The entry's references to other IDs, one per target and relation."""
    seen: set[tuple[str, str]] = set()
    out: list[Outgoing] = []
    for ref in entry.refs:
        if not ref.target or ref.target == entry.id:
            continue
        relation = project.registry.relation_of(entry.prefix, ref)
        if (ref.target, relation) in seen:
            continue
        seen.add((ref.target, relation))
        target = project.entry(ref.target)
        out.append(Outgoing(ref.target, relation, ref.line, target is not None,
                            target.title if target else ""))
    return out


def show_data(project, ident: str) -> dict:
    """The entry, its fields, its references and its backlinks, as plain data."""
    e = find_entry(project, ident)
    defined_in = [f"{d.path}:{d.line}" for d in project.definitions.get(e.id, [])]
    return {
        "id": e.id,
        "title": e.title,
        "file": e.path,
        "line": e.line,
        "end_line": e.end_line,
        "anchor": e.anchor,
        "status": e.status,
        "deprecated": e.deprecated,
        "fields": [{"name": f.name, "value": f.value, "line": f.line, "section": f.section}
                   for f in e.fields],
        "sections": [s.title for s in e.sections],
        "references": [o.__dict__ for o in outgoing(project, e)],
        "backlinks": [b.__dict__ for b in backlinks(project, e.id)],
        "definitions": defined_in,
    }


# -- context packs ----------------------------------------------------------------

def related_order(graph: Graph, ids: Sequence[str], depth: int) -> list[tuple[str, int, str]]:
    """(id, distance, how it is related) for the given IDs and their neighbours.

    The given IDs come first, in order; then neighbours by distance, those
    tied by more (and named rather than "mentions") relations to the nodes one
    step closer first, then by ID.
    """
    dist = distances(graph, ids, depth)
    adj = graph.neighbours()
    ranked: list[tuple[int, int, str, str]] = []
    for node, d in dist.items():
        if d == 0 or not graph.nodes.get(node, None) or not graph.nodes[node].defined:
            continue
        weight = 0
        how: list[str] = []
        for e in adj.get(node, ()):
            other = e.target if e.source == node else e.source
            if dist.get(other) != d - 1:
                continue
            weight += 1 if e.relation == MENTIONS else 2
            how.append(f"{e.source} {e.relation} {e.target}")
        ranked.append((d, -weight, node, "; ".join(sorted(set(how)))))
    ranked.sort()
    head = [(i, 0, "requested") for i in dict.fromkeys(ids)]
    return head + [(node, d, how) for d, _, node, how in ranked]


def entry_text(doc: Document, e: Entry) -> str:
    """The entry's Markdown as written (a table-row entry with its table header)."""
    if e.is_table_row:
        for t in doc.tables:
            if t.line < e.line <= t.end_line:
                header = doc.lines[t.line - 1 : t.line + 1]
                return "\n".join([*header, doc.lines[e.line - 1]])
        return doc.lines[e.line - 1]
    return "\n".join(doc.lines[e.line - 1 : e.end_line])


def context_pack(project, ids: Sequence[str], depth: int = 1, max_chars: int = 20000) -> str:
    """A Markdown pack of the entries and their neighbours, never longer than `max_chars`."""
    wanted = list(dict.fromkeys(find_entry(project, i).id for i in ids))
    graph = build_graph(project)
    order = related_order(graph, wanted, depth)
    header = f"# Context: {', '.join(wanted)}\n"
    budget = max(max_chars, 0)
    parts = [header]
    used = len(header)
    omitted: list[str] = []
    for ident, dist, how in order:
        e = project.entry(ident)
        if e is None:
            continue
        block = _block(project, e, dist, how)
        if used + len(block) <= budget:
            parts.append(block)
            used += len(block)
            continue
        if dist == 0:
            cut = _truncate(block, budget - used)
            if cut:
                parts.append(cut)
                used += len(cut)
                continue
        omitted.append(ident)
    if omitted:
        count = plural(len(omitted), "related entry", "related entries")
        notes = (f"\n<!-- left out to stay within {budget} characters: {', '.join(omitted)} -->\n",
                 f"\n<!-- {count} left out -->\n")
        for note in notes:
            if used + len(note) <= budget:
                parts.append(note)
                break
    return "".join(parts)[:budget]


def _block(project, e: Entry, dist: int, how: str) -> str:
    doc = project.by_path[e.path]
    why = "requested" if dist == 0 else f"distance {dist}: {how}" if how else f"distance {dist}"
    origin = f"<!-- {e.id} · {e.path}:{e.line} · {why.replace('--', '- -')} -->"
    return f"\n{origin}\n{entry_text(doc, e)}\n"


def _truncate(block: str, room: int) -> str:
    """As many whole lines of `block` as fit in `room`, with a note of what was cut."""
    lines = block.split("\n")
    kept: list[str] = []
    size = 0
    for k, line in enumerate(lines):
        note = f"<!-- truncated: {len(lines) - k} more lines -->\n"
        if size + len(line) + 1 + len(note) > room:
            return "".join(kept) + note if kept and size + len(note) <= room else ""
        kept.append(line + "\n")
        size += len(line) + 1
    return "".join(kept)[:room]


# -- next free ID -----------------------------------------------------------------

def type_for(project, prefix: str) -> TypeDef:
    from sot_builder.scaffold import resolve_type

    t = resolve_type(project.registry, prefix.strip().upper())
    if t is None:
        known = ", ".join(t.prefix for t in project.registry.unique_types()) or "none"
        raise SotbError(f"unknown prefix {prefix}; registered prefixes: {known}")
    return t


def next_id(project, prefix: str, category: str = "") -> str:
    """The next free ID: the allocator `sotb add` uses, without reserving or writing anything.

    Highest number used in the category (the type's first category by default)
    plus one; numbers of entries, of IDs named in Deprecated sections, of
    dangling references and of the ledger count as used.
    """
    from sot_builder import scaffold

    t = type_for(project, prefix)
    cat = scaffold.pick_category(t, category or None)
    used = scaffold.used_numbers(project, t, scaffold.ledger_ids(project))
    number = scaffold.next_number(cat.first, cat.last, used)
    if number is None:
        raise SotbError(f"category '{cat.name}' of {t.prefix} is full "
                        f"({t.format_id(cat.first)} to {t.format_id(cat.last)} used or retired)")
    return t.format_id(number)
