"""SOT2xx: references — dangling IDs, missing files, broken fragments, wrong IDs."""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import unquote

from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.model import Document, Entry, Ref
from sot_builder.parse import fragment_id
from sot_builder.rules.base import Rule, rule

if TYPE_CHECKING:
    from sot_builder.project import LinkGroup


def _prefix(ident: str) -> str:
    return ident.split("-", 1)[0]


class Candidates:
    """Strings to find the closest of, grouped by length: sorted once, searched many times."""

    def __init__(self, strings: Iterable[str]) -> None:
        by_length: dict[int, list[str]] = {}
        for x in strings:
            by_length.setdefault(len(x), []).append(x)
        self.by_length = {n: sorted(xs, reverse=True) for n, xs in by_length.items()}


def close_match(word: str, candidates: Iterable[str] | Candidates, cutoff: float) -> str | None:
    """The one `difflib.get_close_matches(word, candidates, 1, cutoff)` finds, or None.

    Same answer, found faster: candidates are tried from the most promising length down, and
    those whose upper bounds (length, then letters) cannot beat the best so far are skipped.
    """
    if not isinstance(candidates, Candidates):
        candidates = Candidates(candidates)
    import difflib  # only when a suggestion is wanted

    matcher = difflib.SequenceMatcher()
    matcher.set_seq2(word)
    n = len(word)
    letters = [(c, word.count(c)) for c in set(word)]
    lengths = sorted(((_length_bound(k, n), k) for k in candidates.by_length), reverse=True)
    best: tuple[float, str] | None = None
    for bound, k in lengths:
        if bound < cutoff or (best is not None and bound < best[0]):
            break  # the bounds of the rest are no higher
        floor = cutoff if best is None else max(cutoff, best[0])
        hopeful = []  # (upper bound of the score, candidate), for those that may reach `floor`
        for x in candidates.by_length[k]:
            # SequenceMatcher.quick_ratio(): the letters the two have in common, counted here
            common = 0
            for c, m in letters:
                found = x.count(c)
                common += found if found < m else m  # noqa: FURB136 (faster than min())
            quick = 2.0 * common / (k + n)
            if quick >= floor:
                hopeful.append((quick, x))
        hopeful.sort(reverse=True)  # the most promising first: the best so far rises soonest
        for quick, x in hopeful:
            if best is not None and quick < best[0]:
                break  # the bounds of the rest are no higher
            matcher.set_seq1(x)
            score = matcher.ratio()
            if score >= cutoff and (best is None or (score, x) > best):
                best = (score, x)  # ties go to the greater string, as in difflib
    return best[1] if best is not None else None


def _length_bound(a: int, b: int) -> float:
    """`SequenceMatcher.real_quick_ratio()` for strings of lengths a and b."""
    return 2.0 * min(a, b) / (a + b) if a + b else 1.0


def _foreign_check(project):
    """A predicate telling references to other registries (`P:BR-003`) from local ones."""
    if not project.config["portfolio"]:
        return lambda doc, ref: False
    from sot_builder.portfolio import is_foreign_ref, names

    namespaces = names(project.config)
    return lambda doc, ref: is_foreign_ref(doc, ref, namespaces)


def landing_ids(doc: Document) -> dict[str, str]:
    """Every anchor of a document that lands on an entry -> the entry's ID."""
    # in reverse, so that of the entries with the same anchor the first one wins
    out = {a: e.id for e in reversed(doc.entries) for a in e.anchors}
    out.pop("", None)
    if doc.explicit_anchors:
        ids = {e.id for e in doc.entries}
        for a in doc.explicit_anchors:
            ident = fragment_id(a.lower())
            if ident in ids and ident == a.upper():
                out[a] = ident  # `<a id="api-001">` lands on API-001 wherever it is
    return out


def _anchor_ids(project) -> dict[str, dict[str, str]]:
    """Document path -> {anchor: ID of the entry it lands on}, for every document."""
    return project.memo("refs.anchor_ids", lambda p: {d.path: landing_ids(d) for d in p.documents})


@rule("SOT201", "undefined-id", Severity.ERROR, "a reference names an ID that no entry defines",
      "{id} is referenced but defined nowhere{hint}")
def undefined_id(project, r: Rule) -> Iterator[Diagnostic]:
    """Every referenced ID of a registered prefix must be defined by an entry.

    A deleted or mistyped ID leaves readers (and agents) following a dead
    trail. Deprecate entries instead of deleting them.

    Bad:
    ```markdown
    - [API-099](SoT.API_CONTRACTS.md#api-099) - POST /refunds
    ```

    Good:
    ```markdown
    - [API-047](SoT.API_CONTRACTS.md#api-047-post-refunds) - POST /refunds
    ```
    """
    reg = project.registry
    defs = project.definitions
    bare_ok = project.config["bare_references"]
    foreign = _foreign_check(project)
    candidates: dict[str, Candidates] = {}  # prefix -> defined IDs starting with it
    hints: dict[str, str] = {}  # undefined ID -> its hint
    undefined = {ident for ident in project.referenced() - defs.keys() if reg.get(_prefix(ident))}
    if not undefined:
        return
    for doc in project.documents:
        for ref in doc.refs:
            ident = ref.target
            if ident not in undefined:
                continue
            if ref.kind != "link" and not bare_ok:
                continue
            if foreign(doc, ref):
                continue  # `P:BR-003` names another registry's entry (SOT211 checks it)
            hint = hints.get(ident)
            if hint is None:
                prefix = _prefix(ident)
                if prefix not in candidates:
                    candidates[prefix] = Candidates(i for i in defs if i.startswith(prefix))
                close = close_match(ident, candidates[prefix], 0.8)
                hint = hints[ident] = f"; did you mean {close}?" if close is not None else ""
            yield r.diag(doc.path, ref.line, ref.column, ids=(ident,), id=ident, hint=hint)


@rule("SOT202", "missing-file", Severity.ERROR, "a link points to a file that does not exist",
      "link to missing file {file}")
def missing_file(project, r: Rule) -> Iterator[Diagnostic]:
    """Relative links must point at files that exist in the repository.

    Bad:
    ```markdown
    [API-045](SoT.API_CONTRACT.md#api-045-post-payments-charge)
    ```

    Good:
    ```markdown
    [API-045](SoT.API_CONTRACTS.md#api-045-post-payments-charge)
    ```
    """
    for group in project.link_groups():
        if not group.file or not group.inside or project.exists(group.path):
            continue
        for ref in group.refs:
            yield r.diag(group.doc.path, ref.line, ref.column, ids=(ref.target,) if ref.target else (),
                         file=ref.file)


@rule("SOT203", "broken-fragment", Severity.ERROR,
      "a link fragment matches no heading slug or explicit anchor of its target",
      "#{fragment} does not exist in {file}{hint}")
def broken_fragment(project, r: Rule) -> Iterator[Diagnostic]:
    """A `#fragment` must match an anchor GitHub creates: a heading slug or an explicit anchor.

    GitHub anchors are the heading text lower-cased, punctuation removed and
    spaces turned into `-` (repeats get `-1`, `-2`). A short `#pic-001` only
    works when an explicit `<a id="pic-001"></a>` or `{#pic-001}` is there.
    `sotb sync` gives the entry's anchor to an inline link whose fragment names
    the entry the link names (a short `#pic-001`, or the slug of an old title),
    when exactly one heading entry of that ID is in the target file.

    Bad:
    ```markdown
    [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001)
    ```

    Good:
    ```markdown
    [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe-payment-processing)
    ```
    """
    for doc, target, ref in _broken_fragments(project):
        suggestion = _suggest(project, target, ref)
        hint = f"; use #{suggestion}" if suggestion else ""
        fix = "run `sotb sync`" if _repaired_href(project, doc, target, ref) else ""
        yield r.diag(doc.path, ref.line, ref.column, ids=(ref.target,) if ref.target else (),
                     fragment=ref.fragment, file=ref.file or doc.path, hint=hint, fix=fix)


def _broken_fragments(project) -> Iterator[tuple[Document, Document, Ref]]:
    """(document, the document its link points into, link) for each fragment SOT203 reports."""
    for group, target, links in _doubtful_fragments(project):
        if not target.lines:
            continue
        anchors = target.anchors
        for ref in links:
            frag = ref.fragment
            if "%" in frag:  # unquote() would leave it as is
                frag = unquote(frag)
            if frag not in anchors and frag.lower() not in anchors:
                yield group.doc, target, ref


class FragmentRepair(NamedTuple):
    """A link whose fragment names its entry by ID but is not that entry's anchor: a
    short `#api-045`, or the slug of an old title. `sotb sync` gives it the anchor."""

    path: str  # the document the link is written in
    line: int
    column: int
    href: str  # the destination as written
    new_href: str  # the same, with the entry's anchor as fragment


def fragment_repairs(project) -> list[FragmentRepair]:
    """The links SOT203 reports that can be repaired without doubt (see `_repaired_href`)."""
    out = []
    for doc, target, ref in _broken_fragments(project):
        new_href = _repaired_href(project, doc, target, ref)
        if new_href:
            out.append(FragmentRepair(doc.path, ref.line, ref.column, ref.href, new_href))
    return out


def _repaired_href(project, doc: Document, target: Document, ref: Ref) -> str:
    """The destination `ref` should have, or "" unless all of these hold: the fragment
    names the entry the link names (`[API-045](…#api-045)`, `(…#api-045-old-title)`);
    exactly one heading entry of that ID is in the target document; the link is written
    inline (`](destination`) and not in a heading, whose anchor the change would move."""
    if ref.kind != "link" or not ref.target or "%" in ref.fragment:
        return ""
    if fragment_id(ref.fragment.lower()) != ref.target:
        return ""
    entries = [e for e in project.definitions.get(ref.target, ())
               if e.path == target.path and e.level and e.anchor]
    if len(entries) != 1 or _is_heading_line(doc, ref.line):
        return ""
    if doc.lines[ref.line - 1].find("](" + ref.href, ref.column - 1) < 0:
        return ""
    return ref.href[:ref.href.index("#") + 1] + entries[0].anchor


def _is_heading_line(doc: Document, line: int) -> bool:
    k = bisect_left(doc.headings, line, key=_LINE)  # headings are in line order
    return k < len(doc.headings) and doc.headings[k].line == line


def _doubtful_fragments(project) -> list[tuple[LinkGroup, Document, list[Ref]]]:
    """(group, its target document, links) for the links with a fragment into a project
    document, except those whose fragment is an anchor there that lands on the entry the
    link names (if it names one): the only links SOT203 and SOT204 need to look at."""
    return project.memo("refs.doubtful_fragments", _find_doubtful_fragments)


def _find_doubtful_fragments(project) -> list[tuple[LinkGroup, Document, list[Ref]]]:
    anchor_ids = _anchor_ids(project)
    named: dict[str, dict[str, str]] = {}  # document path -> its _named_ids
    out = []
    for group in project.link_groups():
        target = project.by_path.get(group.path) if group.inside else None
        if target is None:
            continue
        anchors, landing = target.anchors, anchor_ids[group.path]
        ids = named.get(group.path)
        if ids is None:
            ids = named[group.path] = _named_ids(anchors, landing)
        if _all_land(group.refs, ids):
            continue  # the usual group
        doubtful = []
        for ref in group.refs:
            frag = ref.fragment
            if not frag:
                continue
            if "%" in frag or frag not in anchors or (ref.target and landing.get(frag) != ref.target):
                doubtful.append(ref)
        if doubtful:
            out.append((group, target, doubtful))
    return out


_FRAGMENT = itemgetter(Ref._fields.index("fragment"))
_LINE = attrgetter("line")
_TARGET = itemgetter(Ref._fields.index("target"))


def _all_land(refs: list[Ref], named_ids: dict[str, str]) -> bool:
    """Whether each link names what its fragment lands on (see `_named_ids`): then none of
    them is doubtful. Found without a loop in Python, as most groups are."""
    return list(map(named_ids.get, map(_FRAGMENT, refs))) == list(map(_TARGET, refs))


def _named_ids(anchors: frozenset[str], landing: dict[str, str]) -> dict[str, str]:
    """Fragment -> the ID a link with it must name to need no closer look: that of the entry
    the anchor lands on, else "". Anchors with a '%' (which a link may have quoted) are left
    out; "" (no fragment) is in, naming ""."""
    if "%" in "".join(anchors):
        anchors = frozenset(a for a in anchors if "%" not in a)
    if not landing.keys() <= anchors:
        landing = {a: ident for a, ident in landing.items() if a in anchors}
    ids = dict.fromkeys(anchors, "")
    ids.update(landing)
    ids[""] = ""
    return ids


def _suggest(project, target: Document, ref: Ref) -> str:
    """The anchor a broken fragment should be: the named entry's, else the closest one."""
    frag = ref.fragment.lower()
    wanted = ref.target or fragment_id(frag)
    known = project.memo("refs.suggest", lambda _: {})  # document path -> _Suggestions
    found = known.get(target.path)
    if found is None:
        found = known[target.path] = _Suggestions(target)
    anchor = found.entry_anchors.get(wanted)
    if anchor is None:
        anchor = found.closest.get(frag)
        if anchor is None:
            anchor = found.closest[frag] = close_match(frag, found.anchors, 0.6) or ""
    return anchor


class _Suggestions:
    """What broken fragments into one document are compared with, found once."""

    def __init__(self, doc: Document) -> None:
        self.entry_anchors: dict[str, str] = {}  # ID -> anchor of the first entry of it that has one
        for e in doc.entries:
            if e.anchor:
                self.entry_anchors.setdefault(e.id, e.anchor)
        self.anchors = Candidates(doc.anchors)
        self.closest: dict[str, str] = {}  # fragment -> closest anchor ("" = none)


@rule("SOT204", "label-mismatch", Severity.ERROR,
      "a link's label names a different ID than the entry it points at",
      "link text says {label} but the link points at {target}")
def label_mismatch(project, r: Rule) -> Iterator[Diagnostic]:
    """The ID in a link's text and the entry its fragment lands on must agree.

    Copy-pasted links often keep the old fragment; readers trust the label and
    tools follow the target.

    Bad:
    ```markdown
    [API-046](SoT.API_CONTRACTS.md#api-045-post-paymentscharge)
    ```

    Good:
    ```markdown
    [API-046](SoT.API_CONTRACTS.md#api-046-post-subscriptionscreate)
    ```
    """
    anchor_ids = _anchor_ids(project)
    for group, _target, links in _doubtful_fragments(project):
        landing = anchor_ids[group.path]
        for ref in links:
            frag = ref.fragment
            if not ref.target or ref.target not in ref.label:
                continue
            frag = unquote(frag) if "%" in frag else frag
            landed = landing.get(frag) or landing.get(frag.lower())
            pointed = landed or fragment_id(frag.lower())
            if pointed and pointed != ref.target:
                yield r.diag(group.doc.path, ref.line, ref.column, ids=(ref.target, pointed),
                             label=ref.target, target=pointed)


_WORD_RE = re.compile(r"[a-z0-9]+")
_ANNOTATION_RE = re.compile(r"^[a-z-]+:")
_STOP = {"the", "a", "an", "of", "for", "and", "to", "in", "on", "with", "by", "or"}


def _words(text: str) -> set[str]:
    return {w for w in _WORD_RE.findall(text.lower()) if w not in _STOP}


MATCH = 0.75  # a description this close to another entry's title (Jaccard similarity) names it


class _Titles(NamedTuple):
    """The title words of every entry, and which entries of a prefix have each word."""

    words: dict[str, set[str]]  # ID -> title words of its first entry
    by_prefix: dict[str, list[tuple[Entry, set[str]]]]  # prefix -> [(entry, title words of its ID)]
    postings: dict[str, dict[str, list[int]]]  # prefix -> word -> indexes in by_prefix[prefix]


def _title_words(project) -> _Titles:
    by_prefix: dict[str, list[tuple[Entry, set[str]]]] = {}
    title_words: dict[str, set[str]] = {}
    postings: dict[str, dict[str, list[int]]] = {}
    for e in project.entries():
        words = title_words.setdefault(e.id, _words(e.title))
        same = by_prefix.setdefault(e.prefix, [])
        having = postings.setdefault(e.prefix, {})
        for w in words:
            having.setdefault(w, []).append(len(same))
        same.append((e, words))
    return _Titles(title_words, by_prefix, postings)


def _best_match(titles: _Titles, prefix: str, note: set[str], skip: str) -> tuple[Entry | None, float]:
    """The first entry of `prefix` (other than ID `skip`) whose title words are most like
    `note`, when its score reaches MATCH (otherwise some entry scoring less, or None).

    Only entries sharing a word with the note's rarest words are compared: one scoring
    MATCH shares at least ceil(MATCH * len(note)) of its words, so one of any
    len(note) - that + 1 of them.
    """
    postings = titles.postings.get(prefix, {})
    shared = math.ceil(MATCH * len(note))
    rarest = sorted(note, key=lambda w: len(postings.get(w, ())))[: len(note) - shared + 1]
    entries = titles.by_prefix.get(prefix, [])
    best, best_score = None, 0.0
    for k in sorted({k for w in rarest for k in postings.get(w, ())}):  # in entry order
        e, words = entries[k]
        if e.id == skip:
            continue
        score = _similarity(note, words)
        if score > best_score:
            best, best_score = e, score
    return best, best_score


def _similarity(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


@rule("SOT205", "wrong-description", Severity.WARNING,
      "a reference's description matches another entry's title far better than its target's",
      "{id} is described as '{note}', which matches {other} ('{other_title}') rather than "
      "'{title}'; wrong ID?")
def wrong_description(project, r: Rule) -> Iterator[Diagnostic]:
    """A reference's trailing description should describe the entry it names.

    When the text after the link matches another entry's title almost exactly
    and the target's title hardly at all, the ID is probably wrong.

    Bad:
    ```markdown
    - [UJ-101](SoT.USER_JOURNEYS.md#uj-101-checkout) - Discover matcha cafes
    ```

    Good:
    ```markdown
    - [UJ-102](SoT.USER_JOURNEYS.md#uj-102-discover-matcha-cafes) - Discover matcha cafes
    ```
    """
    first = project.first_definitions()
    titles = {ident: e.title for ident, e in first.items()}
    for doc in project.documents:
        for ref in doc.refs:
            text = ref.note
            if not text:
                continue
            title = titles.get(ref.target)
            if title is None or text == title or ref.kind != "link" or text.casefold() == title.casefold():
                continue  # most descriptions repeat the target's title as it is
            if _ANNOTATION_RE.match(text):
                continue
            target = first[ref.target]
            note = _words(ref.note)
            if len(note) < 2:
                continue
            index = project.memo("refs.title_words", _title_words)
            own = _similarity(note, index.words[target.id])
            if own >= 0.34:
                continue
            best, best_score = _best_match(index, target.prefix, note, target.id)
            if best is not None and best_score >= MATCH and best_score - own >= 0.5:
                yield r.diag(doc.path, ref.line, ref.column, ids=(ref.target, best.id), id=ref.target,
                             note=ref.note, other=best.id, other_title=best.title, title=target.title)


@rule("SOT206", "placeholder-target", Severity.WARNING,
      "a reference points at an entry that is still an unfilled template",
      "{id} is still an unfilled template ({placeholder} at {where})")
def placeholder_target(project, r: Rule) -> Iterator[Diagnostic]:
    """Referencing an entry whose template placeholders are not filled spreads a stub.

    Bad:
    ```markdown
    ## BR-012: {Rule name}
    ...
    - [BR-012](SoT.BUSINESS_RULES.md#br-012-rule-name)
    ```

    Good: fill in BR-012 first, then reference it:
    ```markdown
    ## BR-012: Refund window
    ...
    - [BR-012](SoT.BUSINESS_RULES.md#br-012-refund-window)
    ```
    """
    stubs = {ident: e for ident, e in project.first_definitions().items()
             if e.placeholders and ident in project.referenced()}
    if not stubs:
        return
    for doc in project.documents:
        if doc.role in ("readme", "registry"):
            continue  # index tables list every entry, stubs included
        nav = project.navigation(doc)
        for ref in doc.refs:
            target = stubs.get(ref.target)
            if target is None or ref.target == ref.source:
                continue
            if nav is not None and nav.line <= ref.line <= nav.end_line:
                continue
            text, line = target.placeholders[0]
            yield r.diag(doc.path, ref.line, ref.column, ids=(ref.target,), id=ref.target,
                         placeholder=text, where=f"{target.path}:{line}")


@rule("SOT207", "outside-root", Severity.WARNING,
      "a link points outside the repository; it is not followed",
      "link to {file} points outside the project; not checked")
def outside_root(project, r: Rule) -> Iterator[Diagnostic]:
    """Links are resolved inside the project only; absolute paths and `../` escapes are not opened.

    Bad:
    ```markdown
    [secrets](../../../etc/passwd)
    ```

    Good:
    ```markdown
    [runbook](../docs/runbook.md)
    ```
    """
    for group in project.link_groups():
        if group.file and not group.inside:
            for ref in group.refs:
                yield r.diag(group.doc.path, ref.line, ref.column, file=ref.file)


@rule("SOT209", "deprecated-target", Severity.INFO,
      "an active entry references a deprecated entry",
      "{id} is deprecated ({title})")
def deprecated_target(project, r: Rule) -> Iterator[Diagnostic]:
    """References from active entries to deprecated ones usually need updating.

    Bad: an Active entry listing `[BR-005](#br-005-old-name-deprecated)`.

    Good: it lists the entry that superseded BR-005, `[BR-009](#br-009-refund-window)`.
    """
    deprecated = {ident: e for ident, e in project.first_definitions().items() if e.deprecated}
    if not deprecated:
        return
    for doc in project.sot_documents():
        entries: dict[str, Entry] | None = None  # the file's entries by ID (the last of an ID wins)
        for ref in doc.refs:
            target = deprecated.get(ref.target)
            if target is None or not ref.source or ref.target == ref.source:
                continue
            if entries is None:
                entries = {e.id: e for e in doc.entries}
            src = entries.get(ref.source)
            if src is None or src.deprecated:
                continue
            yield r.diag(doc.path, ref.line, ref.column, ids=(ref.target,), id=ref.target, title=target.title)


RULES = (undefined_id, missing_file, broken_fragment, label_mismatch, wrong_description,
         placeholder_target, outside_root, deprecated_target)
