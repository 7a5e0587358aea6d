"""SOT50x: the ID ledger — deleted IDs, reused IDs, a stale or damaged ledger.

Every rule here is silent when the project has no ledger file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.paths import may_have_ledger
from sot_builder.rules.base import Rule, rule

_MARKERS = {"deprecated", "superseded", "retired", "obsolete", "old", "legacy", "removed"}
_SMALL = {"a", "an", "and", "or", "of", "for", "to", "in", "on", "with", "the", "by", "via"}


def _ledger_state(project):
    """(ledger, records) for the project, or None when it has no ledger."""
    if not may_have_ledger(project.config):
        return None
    from sot_builder.ledger import load_ledger, replayed

    ledger = load_ledger(project.config)
    if ledger is None:
        return None
    return ledger, replayed(ledger)


def _where(project) -> str:
    from sot_builder.ledger import ledger_rel

    return ledger_rel(project.config)


def _words(title: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", title.casefold()) if w not in _MARKERS | _SMALL}


def unrelated_titles(before: str, after: str) -> bool:
    """True when two titles share no word (markers such as "deprecated" and small words aside)."""
    a, b = _words(before), _words(after)
    return bool(a) and bool(b) and not (a & b)


@rule("SOT501", "ledger-deleted-id", Severity.ERROR,
      "an ID recorded in the ledger is defined nowhere any more",
      "{id} ('{title}') is recorded in the ledger {ledger} but defined nowhere; "
      "deprecate entries instead of deleting them")
def deleted_id(project, r: Rule) -> Iterator[Diagnostic]:
    """An issued ID stays in the registry for good: deprecate an entry, never delete it.

    References from other repositories, tickets and commit messages still name
    the ID; deleting the entry leaves them pointing at nothing, and the next
    `sotb add` could not tell the number was ever used. The problem is reported
    at the ledger line that issued the ID.

    Bad (PIC-003 was issued, then its entry was deleted):
    ```markdown
    ## PIC-002: Adyen
    ## PIC-004: Klarna
    ```

    Good:
    ```markdown
    ## PIC-003: PayPal (DEPRECATED)

    **Status**: Deprecated
    ```
    """
    state = _ledger_state(project)
    if state is None:
        return
    _ledger, records = state
    where = _where(project)
    for rec in records.values():
        if rec.renumbered_to or rec.id in project.definitions:
            continue
        yield r.diag(where, rec.issued_line or rec.last_line or 1, ids=(rec.id,), id=rec.id,
                     title=rec.title, ledger=where,
                     fix=f"restore {rec.id} and mark it deprecated")


@rule("SOT502", "ledger-reused-id", Severity.ERROR,
      "a deprecated ID now names a different thing",
      "{id} was deprecated as '{old}' ({ledger}:{event_line}) and now names '{new}'; "
      "an ID is never reused — give the new entry a new number")
def reused_id(project, r: Rule) -> Iterator[Diagnostic]:
    """Once deprecated, an ID keeps meaning what it meant.

    Recycling the number of a deprecated entry for something new silently
    changes the meaning of every old reference. The check compares the title
    at deprecation time (from the ledger) with today's title: when they share
    no word, the ID was reused.

    Bad (the ledger records PIC-003 "PayPal" as deprecated):
    ```markdown
    ## PIC-003: Twilio SMS
    ```

    Good:
    ```markdown
    ## PIC-003: PayPal (DEPRECATED)
    ## PIC-012: Twilio SMS
    ```
    """
    state = _ledger_state(project)
    if state is None:
        return
    _ledger, records = state
    where = _where(project)
    for rec in records.values():
        if not rec.deprecated or rec.renumbered_to:
            continue
        entry = project.entry(rec.id)
        if entry is None or not unrelated_titles(rec.deprecated_title, entry.title):
            continue
        yield r.diag(entry.path, entry.line, entry.column, ids=(rec.id,), id=rec.id,
                     old=rec.deprecated_title, new=entry.title, ledger=where, event_line=rec.deprecated_line)


@rule("SOT503", "ledger-stale", Severity.WARNING,
      "an entry's ID is not recorded in the ledger yet",
      "ledger stale: run `sotb ledger update` ({id} is not recorded in {ledger})")
def stale(project, r: Rule) -> Iterator[Diagnostic]:
    """Every ID of the SoT files is recorded in the ledger.

    The ledger is how sotb knows which numbers were ever issued; an ID missing
    from it could be handed out again once its entry is gone. Run
    `sotb ledger update` after adding entries (and commit the ledger with them).

    Bad: `## PIC-007: Mollie` added, the ledger not updated.

    Good: `## PIC-007: Mollie` added and `sotb ledger update` run; the ledger
    gains an `issued` line for PIC-007.
    """
    state = _ledger_state(project)
    if state is None:
        return
    ledger, _records = state
    from sot_builder.ledger import known_ids

    seen = known_ids(ledger)
    where = _where(project)
    reported: set[str] = set()
    for doc in project.sot_documents():
        for e in doc.entries:
            if e.id in seen or e.id in reported:
                continue
            reported.add(e.id)
            yield r.diag(doc.path, e.line, e.column, ids=(e.id,), id=e.id, ledger=where,
                         fix="run `sotb ledger update`")


@rule("SOT504", "ledger-integrity", Severity.ERROR,
      "a ledger line was edited, removed or is not a valid event",
      "{msg}")
def integrity(project, r: Rule) -> Iterator[Diagnostic]:
    """The ledger is append-only: earlier lines are never edited.

    Each event's hash covers its content and the hashes of the events it was
    appended after. Editing a line breaks its own hash; rewriting the hash too
    leaves the following events pointing at an event that no longer exists.
    Restore the ledger from version control (`git checkout -- SoT/SoT.LEDGER.jsonl`)
    and record changes with `sotb ledger update` instead.

    Bad (the title of an issued event edited by hand):
    ```json
    {"event": "issued", "id": "PIC-003", "title": "Twilio", ...}
    ```

    Good: the original line kept, a new event appended by `sotb ledger update`:
    ```json
    {"event": "title-changed", "id": "PIC-003", "from": "PayPal", "to": "PayPal Checkout", ...}
    ```
    """
    state = _ledger_state(project)
    if state is None:
        return
    ledger, _records = state
    where = _where(project)
    for problem in ledger.problems:
        yield r.diag(where, problem.line, msg=problem.message,
                     fix="restore the ledger from version control")


RULES = (deleted_id, reused_id, stale, integrity)
