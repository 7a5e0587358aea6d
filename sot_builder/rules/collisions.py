"""SOT11x: IDs across branches — collisions from merges, references to renumbered IDs.

These rules read the ledger; they are silent when the project has none.
"""

from __future__ import annotations

from collections.abc import Iterator

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.paths import RENUMBER_JOURNAL as JOURNAL_NAME
from sot_builder.paths import may_have_ledger
from sot_builder.rules.base import Rule, rule


def _ledger(project):
    if not may_have_ledger(project.config):
        return None, ""
    from sot_builder.ledger import ledger_rel, load_ledger

    return load_ledger(project.config), ledger_rel(project.config)


@rule("SOT110", "id-collision", Severity.ERROR,
      "two branches issued the same ID to different entries",
      "{id} was issued twice: '{title}' here and '{other_title}' at {other}; {order}")
def id_collision(project, r: Rule) -> Iterator[Diagnostic]:
    """Two branches that each added "the next" entry merge into one ID for two entries.

    git merges both headings without a conflict in the ID, and the ledger
    (merged line by line) shows the ID issued twice. Keep the entry the
    ledger issued first; give the other the next free number with
    `sotb renumber ID`, which also rewrites every reference to it and records
    the move in the ledger. Shared reservation (`sotb add --reserve`) keeps
    branches from taking the same number in the first place.

    Bad (two `issued PIC-002` lines in the ledger):
    ```markdown
    ## PIC-002: Adyen Payments
    ...
    ## PIC-002: Klarna Checkout
    ```

    Good (after `sotb renumber PIC-002`):
    ```markdown
    ## PIC-002: Adyen Payments
    ...
    ## PIC-003: Klarna Checkout
    ```
    """
    ledger, where = _ledger(project)
    if ledger is None:
        return
    twice = [(ident, entries) for ident, entries in project.definitions.items() if len(entries) > 1]
    if not twice:
        return
    from sot_builder.renumber import is_collision, issue_rank, issued_events

    for ident, entries in twice:
        issued = issued_events(ledger, ident)
        if not is_collision(entries, issued):
            continue
        ranks = {id(e): issue_rank(e, issued) for e in entries}
        known = [(rank, k) for k, e in enumerate(entries) if (rank := ranks[id(e)]) is not None]
        first = entries[min(known)[1]] if known else None
        for e in entries:
            others = [o for o in entries if o is not e]
            other = others[0]
            order = _order(e, first, ranks[id(e)], issued, where)
            fix = f"run `sotb renumber {ident}`"
            if first is not None and e is first:
                fix += f": it gives '{other.title}' the next free number"
            yield r.diag(e.path, e.line, e.column, ids=(ident,), id=ident, title=e.title,
                         other_title=other.title, other=f"{other.path}:{other.line}", order=order, fix=fix)


def _order(e, first, rank, issued, where) -> str:
    if rank is None:
        return f"the ledger never issued {e.id} as '{e.title}'"
    line = issued[rank].line
    if e is first:
        return f"the ledger issued this one first ({where}:{line})"
    return f"the ledger issued this one later ({where}:{line}), after '{first.title}'"


@rule("SOT111", "renumbered-reference", Severity.ERROR,
      "a reference still uses an ID that was renumbered",
      "{old} was renumbered to {new} ({ledger}:{event_line}); this reference still uses {old}")
def renumbered_reference(project, r: Rule) -> Iterator[Diagnostic]:
    """After `sotb renumber`, references elsewhere may still use the old ID.

    `sotb renumber` rewrites the files it scans; documents added later (a
    branch merged afterwards, a page outside the scanned set copied in) can
    still name the old ID, or link to the old anchor. The ledger's
    `renumbered` events say where each ID went.

    Bad (the ledger records PIC-002 renumbered to PIC-003):
    ```markdown
    Checkout uses [PIC-002](SoT/SoT.PARTNER_INTEGRATIONS.md#pic-002-klarna-checkout).
    ```

    Good:
    ```markdown
    Checkout uses [PIC-003](SoT/SoT.PARTNER_INTEGRATIONS.md#pic-003-klarna-checkout).
    ```
    """
    ledger, where = _ledger(project)
    if ledger is None:
        return
    moves = _moves(ledger)
    if not moves:
        return
    from urllib.parse import unquote

    from sot_builder.portfolio import is_foreign_ref, names

    foreign = names(project.config)
    defs = project.definitions
    for doc in project.documents:
        for ref in doc.refs:
            hit = _stale(project, doc, ref, moves, defs, unquote)
            if hit is None or is_foreign_ref(doc, ref, foreign):
                continue
            old, new, line, fix = hit
            yield r.diag(doc.path, ref.line, ref.column, ids=(old, new), old=old, new=new,
                         ledger=where, event_line=line, fix=fix)


def _moves(ledger) -> dict[str, tuple[str, int]]:
    """old ID -> (where it went in the end, ledger line of the first move)."""
    direct: dict[str, tuple[str, int]] = {}
    for ev in ledger.events:
        if ev.kind == "renumbered":
            direct.setdefault(ev.data["from"], (ev.data["to"], ev.line))
    out = {}
    for old, (new, line) in direct.items():
        seen = {old}
        while new in direct and new not in seen:  # PIC-002 -> PIC-003 -> PIC-007
            seen.add(new)
            new = direct[new][0]
        out[old] = (new, line)
    return out


def _stale(project, doc, ref, moves, defs, unquote):
    """(old, new, ledger line, fix) when `ref` still uses a renumbered ID, else None."""
    if ref.target in moves and ref.target not in defs:
        new, line = moves[ref.target]
        if new not in defs:
            return None
        return ref.target, new, line, _fix(project, doc, ref, ref.target, new, defs)
    if ref.kind != "link" or not ref.fragment:
        return None
    # a link to the old anchor while another entry still has the old ID (a collision repaired)
    from sot_builder.parse import fragment_id

    frag = unquote(ref.fragment).lower()
    old = fragment_id(frag)
    if old not in moves:
        return None
    path, inside = project.resolve_link(doc.path, ref.file)
    target = project.by_path.get(path) if inside else None
    if target is None or frag in target.anchors:
        return None
    new, line = moves[old]
    moved = new.lower() + frag[len(old):]
    if moved not in target.anchors:
        return None
    return old, new, line, _fix(project, doc, ref, old, new, defs)


def _fix(project, doc, ref, old, new, defs) -> str:
    import posixpath

    entry = defs[new][0]
    if ref.kind != "link":
        return f"use {new}"
    label = ref.label.replace(old, new)
    if not (ref.file or ref.fragment):
        return f"use [{label}]({ref.href})"
    if entry.path == doc.path:
        rel = ""
    else:
        rel = posixpath.relpath(entry.path, posixpath.dirname(doc.path) or ".")
    href = f"{rel}#{entry.anchor}" if entry.anchor else rel
    return f"use [{label}]({href})"


@rule("SOT112", "renumber-interrupted", Severity.ERROR,
      "a renumber was interrupted and left its journal behind",
      "a renumber was interrupted ({journal} is there); files may mix old and new IDs")
def renumber_interrupted(project, r: Rule) -> Iterator[Diagnostic]:
    """`sotb renumber` writes all files or none, through a journal in the SoT folder.

    When the process is killed half-way, the journal stays; the next
    `sotb renumber` (or `sotb renumber --recover`) finishes the move when every
    new file was already written, or undoes it otherwise. Until then the
    registry may hold a half-made change.

    Bad: `SoT/.sotb-renumber.journal` is present after a killed run.

    Good: `sotb renumber --recover` was run; the journal is gone.
    """
    rel = project.rel_in_root(JOURNAL_NAME)
    if project.exists(rel):
        yield r.diag(rel, 1, journal=rel, fix="run `sotb renumber --recover`")


RULES = (id_collision, renumbered_reference, renumber_interrupted)
