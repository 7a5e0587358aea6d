"""SOT208: bidirectional references — every required relation is answered by its inverse.

When entry A references entry B under a relation (a relation section such as
"Integration Points", a reference field such as `**Affects Tables**:`, or an
annotation `- [API-045](...) — implements: ...`), B must reference A back.

Which relations need the way back:

- By default, the relation's `back_reference` flag in A's type definition
  (looked up in A's type, else in any type that defines a relation of that
  name for B's prefix).
- The `back_references` configuration table overrides this per source prefix:
  `PREFIX = true` keeps the type definitions' flags, `PREFIX = false` never
  requires back-references for references made by PREFIX entries, and
  `PREFIX = ["API", "BR"]` requires them for references to exactly those
  target prefixes, whatever the relation (and for no other target prefix).
  The override is one-directional: `MIG = false` frees MIG entries from
  being answered, not DBT entries.

What counts as the way back: any reference from B to A that expresses the
inverse relation, or the generic `related` relation (a "Related" / "See Also"
section). A plain mention of A in B's prose does not count. Deprecated
entries neither demand nor owe back-references.

The missing side is reported at B, naming the relation and the section where
the back-reference belongs: the first section the inverse relation lists in
B's type definition, else "Related". `sotb sync` inserts it there.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.model import Entry, Ref
from sot_builder.registry import Registry, RelationDef
from sot_builder.rules.base import Rule, rule

GENERIC_RELATION = "related"
FALLBACK_SECTION = "Related"
GENERIC_SECTIONS = ("Related", "Related IDs", "Cross-References", "See Also")


@dataclass(frozen=True)
class MissingBackRef:
    """Entry `target` should reference `source` under `inverse`, and does not."""

    source: Entry  # A: states the relation
    target: Entry  # B: lacks the way back
    relation: str  # A's relation to B
    inverse: str  # the relation B should state
    section: str  # where the back-reference belongs in B
    sections: tuple[str, ...]  # every section name that would do
    field: str  # a reference field of B's type that carries the inverse, if any
    ref: Ref  # A's reference to B


def _relation_def(reg: Registry, prefix: str, name: str, target_prefix: str) -> RelationDef | None:
    t = reg.get(prefix)
    if t is not None:
        for r in t.relations:
            if r.name == name:
                return r
    for t in reg.unique_types():
        for r in t.relations:
            if r.name == name and (not r.targets or target_prefix in r.targets):
                return r
    return None


def back_reference_required(project, source_prefix: str, target_prefix: str, relation: str) -> bool:
    """Does a `relation` reference from a `source_prefix` entry to a `target_prefix` entry need an answer?"""
    override = (project.config["back_references"] or {}).get(source_prefix, True)
    if override is False:
        return False
    if isinstance(override, list):
        return target_prefix in override
    rd = _relation_def(project.registry, source_prefix, relation, target_prefix)
    if rd is None or not rd.back_reference:
        return False
    return not rd.targets or target_prefix in rd.targets


def back_reference_home(reg: Registry, target_prefix: str, inverse: str,
                        source_prefix: str) -> tuple[str, tuple[str, ...], str]:
    """(section, every acceptable section name, reference field) for a back-reference in a
    `target_prefix` entry under relation `inverse` to a `source_prefix` entry."""
    t = reg.get(target_prefix)
    field = ""
    names: list[str] = []
    if t is not None:
        for r in t.relations:
            if r.name == inverse and (not r.targets or source_prefix in r.targets):
                names.extend(s for s in r.sections if s)
        for fd in t.fields:
            if fd.relation == inverse and fd.relation:
                field = fd.name
                break
    if not names:
        generic = []
        if t is not None:
            generic = [s for r in t.relations if r.name == GENERIC_RELATION for s in r.sections if s]
        names = generic or list(GENERIC_SECTIONS)
        if FALLBACK_SECTION.casefold() in (n.casefold() for n in names):
            names.remove(next(n for n in names if n.casefold() == FALLBACK_SECTION.casefold()))
            names.insert(0, FALLBACK_SECTION)
    return names[0], tuple(names), field


def _stated(entry: Entry, relation_of) -> Iterator[tuple[str, str]]:
    """(target ID, relation) for each reference of the entry that states a relation to another."""
    prefix, own = entry.prefix, entry.id
    for ref in entry.refs:
        target = ref.target
        if target and target != own:
            rel = relation_of(prefix, ref)
            if rel:
                yield target, rel


def stated_relations(entry: Entry, relation_of) -> dict[str, list[str]]:
    """Target ID -> every relation the entry's references to it state."""
    out: dict[str, list[str]] = {}
    for target, rel in _stated(entry, relation_of):
        found = out.get(target)
        if found is None:
            out[target] = [rel]
        elif rel not in found:
            found.append(rel)
    return out


def _first_stated_ref(entry: Entry, target: str, relation_of) -> Ref:
    """The entry's first reference to `target` that states a relation."""
    return next(ref for ref in entry.refs if ref.target == target and relation_of(entry.prefix, ref))


def _single_active(project) -> dict[str, Entry]:
    """ID -> its entry, for IDs defined exactly once by an entry that is not deprecated."""
    return {ident: found[0] for ident, found in project.definitions.items()
            if len(found) == 1 and not found[0].deprecated}


def missing_back_references(project) -> list[MissingBackRef]:
    """Every (A, B) pair where A's relation to B needs an answer that B does not give.

    Computed once per project and shared: callers must not change the list.
    """
    return project.memo("backrefs.missing", _missing_back_references)


def _missing_back_references(project) -> list[MissingBackRef]:
    reg = project.registry
    relation_of = reg.relation_of
    single = _single_active(project)  # only these demand or owe back-references
    stating = [e for e in project.entries() if single.get(e.id) is e and reg.get(e.prefix) is not None]
    doubtful = _not_answered_generically(stating, reg, single)
    stated: dict[str, dict[str, list[str]]] = {}
    required: dict[tuple[str, str, str], bool] = {}
    inverses: dict[str, str] = {}
    out: list[MissingBackRef] = []
    for source in stating:
        wanted = doubtful.get(source.id)
        if wanted is None:
            continue
        mine = stated.get(source.id)
        if mine is None:
            mine = stated[source.id] = stated_relations(source, relation_of)
        for b, relations in mine.items():
            if b not in wanted:
                continue
            target = single[b]
            theirs = stated.get(b)
            if theirs is None:
                theirs = stated[b] = stated_relations(target, relation_of)
            answer = theirs.get(source.id)
            for relation in relations:
                key = (source.prefix, target.prefix, relation)
                needed = required.get(key)
                if needed is None:
                    needed = required[key] = back_reference_required(project, *key)
                if not needed:
                    continue
                inverse = inverses.get(relation)
                if inverse is None:
                    inverse = inverses[relation] = reg.inverse_of(relation)
                if answer is None or inverse not in answer:
                    section, sections, field = back_reference_home(reg, target.prefix, inverse, source.prefix)
                    ref = _first_stated_ref(source, b, relation_of)
                    out.append(MissingBackRef(source, target, relation, inverse, section, sections, field, ref))
                break
    return out


def _not_answered_generically(stating: list[Entry], reg: Registry,
                              single: dict[str, Entry]) -> dict[str, set[str]]:
    """Source ID -> the IDs of `single` it states a relation to that do not state the generic
    relation back. A pair answered that way needs nothing more (the usual case)."""
    relation_of = reg.relation_of
    places: dict[str, dict[tuple[str, str], str] | None] = {}  # prefix -> (section, field) -> relation
    stated = []  # per stating entry: the IDs it states a relation to
    generic_to: dict[str, tuple[str, ...]] = {}  # ID -> the IDs it states the generic relation to
    for e in stating:
        by_place = places.get(e.prefix, False)
        if by_place is False:
            by_place = places[e.prefix] = place_memo(reg, e.prefix)
        targets, generic = _stated_targets(e, relation_of, by_place)
        stated.append(targets)
        if generic:
            generic_to[e.id] = generic
    out: dict[str, set[str]] = {}
    for e, targets in zip(stating, stated):
        source = e.id
        for b in targets:
            theirs = generic_to.get(b)  # only stating entries, all in `single`, are there
            if theirs is None:
                if b not in single:
                    continue
            elif source in theirs:
                continue
            out.setdefault(source, set()).add(b)
    return out


def place_memo(reg: Registry, prefix: str) -> dict[tuple[str, str], str] | None:
    """An empty (section, field) -> relation memo for the references of `prefix` entries, or
    None when their relations may depend on the target's prefix (see `_stated_targets`)."""
    return None if reg.target_prefix_matters(prefix) else {}


def _stated_targets(entry: Entry, relation_of,
                    by_place: dict[tuple[str, str], str] | None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the IDs an entry states a relation to, those it states the generic relation to), in
    order; one shared tuple when every relation it states is the generic one (the usual case).

    With `by_place`, the relations of references without a ':' in their note (so without an
    annotation) are remembered there by (section, field): for entries of a type whose relations
    name no target prefixes, nothing else changes them (`Registry.target_prefix_matters`)."""
    targets: list[str] = []
    generic: list[str] = []
    prefix, own = entry.prefix, entry.id
    for ref in entry.refs:  # _stated, written out: this runs for every reference of the registry
        target = ref.target
        if target and target != own:
            if by_place is not None and ":" not in ref.note:
                place = (ref.section, ref.field)
                rel = by_place.get(place)
                if rel is None:
                    rel = by_place[place] = relation_of(prefix, ref)
            else:
                rel = relation_of(prefix, ref)
            if rel:
                targets.append(target)
                if rel == GENERIC_RELATION:
                    generic.append(target)
    stated = tuple(targets)
    return stated, stated if len(generic) == len(targets) else tuple(generic)


@rule("SOT208", "missing-back-reference", Severity.ERROR,
      "an entry does not reference back an entry that references it under a two-way relation",
      "{id} does not reference {source} back: {source} {relation} {id} ({where}:{ref_line}); "
      "add [{source}] under '{section}' ({inverse}){field_hint}")
def missing_back_reference(project, r: Rule) -> Iterator[Diagnostic]:
    """Two-way relations are written on both sides.

    Readers (and agents) load one SoT file at a time: when PIC-001 says API-045
    uses it, the API contract must say so too, or a change to API-045 misses
    its partner. Which relations need the way back comes from the type
    definitions (`back_reference: true`) and the `back_references`
    configuration table (`PIC = ["API"]`, `MIG = false`). The problem is
    reported at the entry that lacks the back-reference; `sotb sync` inserts
    it into the section named in the message (created if absent).

    Bad:
    ```markdown
    ## PIC-001: Stripe Payment Processing
    ### Integration Points
    - [API-045](SoT.API_CONTRACTS.md#api-045-post-paymentscharge) - POST /payments/charge

    ## API-045: POST /payments/charge
    **Status**: Active
    ```

    Good:
    ```markdown
    ## API-045: POST /payments/charge
    **Status**: Active

    ### Uses Partner
    - [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe-payment-processing) - Stripe Payment Processing
    ```
    """
    return diagnostics(r, missing_back_references(project))


def diagnostics(r: Rule, missing: list[MissingBackRef]) -> Iterator[Diagnostic]:
    for m in missing:
        b = m.target
        hint = f" or to the **{m.field}** field" if m.field else ""
        yield r.diag(
            b.path, b.line, b.column, ids=(b.id, m.source.id), fix="run `sotb sync`",
            id=b.id, source=m.source.id, relation=m.relation, where=m.source.path, ref_line=m.ref.line,
            section=m.section, inverse=m.inverse, field_hint=hint,
        )


RULES = (missing_back_reference,)
