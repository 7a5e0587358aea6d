"""The lookups and indexes rules share give the answers of the plain scans they replace."""

from __future__ import annotations

import difflib
import random
from pathlib import Path

from sot_builder.model import Entry, Ref
from sot_builder.registry import Category, FieldDef, Registry, RelationDef, TypeDef
from sot_builder.rules.ids import category_holder
from sot_builder.rules.refs import (
    MATCH,
    Candidates,
    _best_match,
    _similarity,
    _title_words,
    close_match,
)


def test_category_holder_agrees_with_every_category() -> None:
    rng = random.Random(7)
    for _ in range(200):
        cats = []
        for _ in range(rng.randint(0, 6)):
            first = rng.randint(-3, 60)
            cats.append(Category(f"c{len(cats)}", first, first + rng.randint(-3, 15)))
        holds = category_holder(cats)
        for n in range(-5, 80):
            assert holds(n) == any(c.holds(n) for c in cats), (cats, n)


def test_category_holder_of_adjacent_and_nested_ranges() -> None:
    holds = category_holder([Category("a", 1, 99), Category("b", 100, 199), Category("c", 150, 160),
                             Category("d", 301, 399)])
    assert [n for n in (0, 1, 99, 100, 199, 200, 300, 301, 399, 400) if holds(n)] == [1, 99, 100, 199, 301, 399]


def _ref(target: str, section: str = "", field: str = "", note: str = "") -> Ref:
    return Ref(target, 1, 1, "link", target, "", "", "", "", section, field, note)


def test_relation_of_remembers_answers_by_what_they_depend_on() -> None:
    """Cached answers equal the computed ones, whether a relation is limited to target prefixes or not."""
    reg = Registry(types={
        "PIC": TypeDef("PIC", "Partners", relations=(
            RelationDef("used-by", "uses", targets=("API",), sections=("Integration Points",)),
            RelationDef("related", "related", sections=("Related",)),
        )),
        "API": TypeDef("API", "APIs", fields=(FieldDef("Uses Partner", relation="uses"),), relations=(
            RelationDef("uses", "used-by", sections=("Uses Partner",)),
            RelationDef("related", "related", sections=("Related",)),
        )),
    })
    refs = [_ref(t, s, f, n) for t in ("API-001", "BR-002", "PIC-003", "")
            for s in ("", "Integration Points", "Related", "Dependencies")
            for f in ("", "Uses Partner")
            for n in ("", "implements: x", "Title: part", "uses: y")]
    for _ in range(2):  # computed, then remembered
        for prefix in ("PIC", "API", "BR"):
            for ref in refs:
                expected = reg._relation(prefix, ref.target.partition("-")[0], *_annotation(ref.note),
                                         ref.field, ref.section) if ref.target else ""
                assert reg.relation_of(prefix, ref) == expected, (prefix, ref)
    assert reg.relation_of("PIC", _ref("API-001", "Integration Points")) == "used-by"
    assert reg.relation_of("PIC", _ref("BR-002", "Integration Points")) == "related"


def _annotation(note: str) -> tuple[str]:
    head, colon, _ = note.partition(":")
    return (head.strip() if colon and head.strip().islower() and " " not in head.strip() else "",)


def _example_project():
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    root = Path(__file__).resolve().parents[2] / "examples" / "broken-registry"
    return load_project(load_config(root), use_cache=False)


def test_reference_indexes_list_every_reference_once() -> None:
    project = _example_project()
    refs = [r for d in project.documents for r in d.refs if r.target]
    assert refs, "the example has references"
    assert project.referenced() == {r.target for r in refs}
    assert sorted(project.refs_to) == sorted({r.target for r in refs})
    for ident, found in project.refs_to.items():
        assert found == [r for r in refs if r.target == ident]


def test_definitions_list_every_entry_of_an_id_in_document_order() -> None:
    project = _example_project()
    entries = [e for d in project.documents for e in d.entries]
    assert any(len(found) > 1 for found in project.definitions.values()), "the example has a duplicate"
    for ident, found in project.definitions.items():
        assert list(found) == [e for e in entries if e.id == ident]
        assert project.entry(ident) is found[0]
    assert sum(map(len, project.definitions.values())) == len(entries)


def test_best_description_match_agrees_with_comparing_every_title() -> None:
    """Comparing only entries that share one of the note's rarest words finds the same best
    match as comparing every entry, whenever that match is close enough to be reported."""
    rng = random.Random(11)
    vocab = [f"w{k}" for k in range(12)]
    entries = [Entry(f"BR-{n:03d}", "BR", "", n, " ".join(rng.sample(vocab, rng.randint(0, 4))),
                     "SoT/SoT.BUSINESS_RULES.md", n, 1, n, 2, "") for n in range(1, 150)]
    index = _titles_of(entries)
    reported = 0
    for _ in range(2000):
        note = set(rng.sample(vocab, rng.randint(2, 5)))
        skip = rng.choice(entries).id
        expected, expected_score = None, 0.0
        for e, words in index.by_prefix["BR"]:
            score = _similarity(note, words)
            if e.id != skip and score > expected_score:
                expected, expected_score = e, score
        best, score = _best_match(index, "BR", note, skip)
        if expected_score >= MATCH:
            reported += 1
            assert (best, score) == (expected, expected_score), (note, skip)
        else:
            assert score < MATCH
    assert reported > 50


def _titles_of(entries: list[Entry]):
    from types import SimpleNamespace

    return _title_words(SimpleNamespace(entries=lambda: entries))


def test_close_match_finds_what_difflib_finds() -> None:
    rng = random.Random(3)
    for _ in range(400):
        alphabet = rng.choice(["ab", "abc-", "api-0123", "xyz-19"])
        pool = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(40)]
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 10)))
        cutoff = rng.choice([0.0, 0.6, 0.8])
        found = difflib.get_close_matches(word, pool, 1, cutoff)
        expected = found[0] if found else None
        assert close_match(word, pool, cutoff) == expected, (word, pool, cutoff)
        assert close_match(word, Candidates(pool), cutoff) == expected


def test_enum_value_check_agrees_with_its_pattern() -> None:
    import re

    from sot_builder.rules.fields import _starts_with

    rng = random.Random(11)
    chars = list("aAkKsSiI -(:,;.)\t\x1cé—–") + ["\u212a", "\u017f", "\u0130", "\u00a0"]
    allowed = ["Active", "In Progress", "k", "S", "", "Done.", "Gelöscht"]
    for _ in range(5000):
        v = rng.choice(allowed)
        head = rng.choice([v, v.upper(), v.lower(), v.swapcase(), ""])
        value = (head + "".join(rng.choice(chars) for _ in range(rng.randint(0, 3)))).strip()
        pattern = re.escape(v) + r"(?:$|[\s(\-—–:,;.])"
        assert _starts_with(value, v) == bool(re.match(pattern, value, re.IGNORECASE)), (value, v)


_LINKS_CONFIG = """root = "SoT"
documents = ["docs/guide.md"]

[types.API]
file = "SoT.API_CONTRACTS.md"
fields = []

[types.BR]
file = "SoT.BUSINESS_RULES.md"
fields = []
"""

_LINKED = """# API Contracts

## Navigation

- [API-001](#api-001-get-items)
- [API-003](#API-003)

## API-001: GET /items

### Notes

### Notes

<a id="api-001"></a>

## API-001: GET /items

## API-002: Rates 50% off {#rate%20card}

<a id="API-003"></a>

## API-003: Third

## API-004: Fourth {#api-004}

## Overview
"""

_LINKING = """# Business Rules

## BR-001: Refund window

### Related

- [API-001](SoT.API_CONTRACTS.md#api-001-get-items) - first of a repeated ID
- [API-001](SoT.API_CONTRACTS.md#api-001-get-items-1) - second of it
- [API-001](SoT.API_CONTRACTS.md#api-001) - explicit anchor in the entry
- [API-003](SoT.API_CONTRACTS.md#API-003) - explicit anchor above the entry
- [API-004](SoT.API_CONTRACTS.md#api-004) - explicit anchor of the heading
- [API-004](SoT.API_CONTRACTS.md#api-004-fourth) - slug of a heading with an explicit anchor
- [API-002](SoT.API_CONTRACTS.md#rate%20card) - quoted fragment
- [API-002](SoT.API_CONTRACTS.md#rate%2520card) - quoted anchor
- [notes](SoT.API_CONTRACTS.md#notes-1) - a repeated heading
- [API-002](SoT.API_CONTRACTS.md#notes) - lands on no entry
- [API-002](SoT.API_CONTRACTS.md#api-001-get-items) - lands on another entry
- [overview](SoT.API_CONTRACTS.md#overview) - names no ID
- [overview](SoT.API_CONTRACTS.md#api-003-third) - names no ID, lands on one
- [API-001](SoT.API_CONTRACTS.md#) - empty fragment
- [contracts](SoT.API_CONTRACTS.md) - no fragment
- [API-001](SoT.API_CONTRACTS.md) - no fragment, names an ID
- [API-001](./SoT.API_CONTRACTS.md#api-001-get-items) - the file written another way
- [API-001](./SoT.API_CONTRACTS.md#api-001-get-itemz) - a broken one that way
- [API-009](SoT.API%5FCONTRACTS.md#api-009-missing) - quoted path
- [web](https://example.com/a.md#x) - external
- [mail](mailto:someone@example.com) - external
- [call](tel:123) - external
- [odd](SoT.API_CONTRACTS.md#x://y) - external by its fragment
- [colon](a%3A//b.md#frag) - a quoted colon
- [guide](../docs/guide.md#intro) - a document outside the SoT root
- [guide](../docs/guide.md#nowhere) - a broken one
- [other](../docs/other.md#x) - a file that is not a document
- [up](../../outside.md#x) - outside the project
- [abs](/etc/passwd) - absolute
- [win](C:/x.md) - a drive
- [BR-001](#br-001-refund-window) - same file
- [BR-001](#BR-001-Refund-Window) - same file, other case
- [BR-001](#br-001-refund) - same file, broken
- ![diagram](diagram.png) - an image
"""


def _links_project(root: Path):
    from sot_builder.config import load_config
    from sot_builder.project import load_project

    files = {"sotb.toml": _LINKS_CONFIG, "SoT/SoT.API_CONTRACTS.md": _LINKED,
             "SoT/SoT.BUSINESS_RULES.md": _LINKING, "docs/guide.md": "# Guide\n\n## Intro\n",
             "docs/other.md": "# Other\n"}
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return load_project(load_config(root), use_cache=False)


def test_link_groups_hold_every_repository_link_once(tmp_path: Path) -> None:
    project = _links_project(tmp_path)
    expected = []
    for doc in project.documents:
        groups: dict[str, list[Ref]] = {}
        for ref in doc.refs:
            external = "://" in ref.href or ref.href.startswith(("mailto:", "tel:", "data:"))
            if ref.kind == "link" and not external:
                groups.setdefault(ref.file, []).append(ref)
        expected += [(doc.path, file, refs) for file, refs in groups.items()]
    assert [(g.doc.path, g.file, g.refs) for g in project.link_groups()] == expected
    assert any(file == "a://b.md" for _, file, _ in expected)
    for group in project.link_groups():
        assert (group.path, group.inside) == project.resolve_link(group.doc.path, group.file)


def test_landing_ids_are_where_each_anchor_lands(tmp_path: Path) -> None:
    from sot_builder.parse import fragment_id
    from sot_builder.rules.refs import landing_ids

    project = _links_project(tmp_path)
    for doc in project.documents:
        assert landing_ids(doc) == _landing(doc, fragment_id)
    assert landing_ids(project.by_path["SoT/SoT.API_CONTRACTS.md"])["API-003"] == "API-003"


def test_doubtful_fragments_are_those_a_look_at_each_link_finds(tmp_path: Path) -> None:
    """The links SOT203 and SOT204 look at: those whose fragment is no anchor of the target,
    or an anchor landing on another entry than the one the link names."""
    from sot_builder.rules.refs import _all_land, _doubtful_fragments, _named_ids, landing_ids

    project = _links_project(tmp_path)
    expected = []
    passed = 0
    for group in project.link_groups():
        target = project.by_path.get(group.path) if group.inside else None
        if target is None:
            continue
        landing = landing_ids(target)
        doubtful = [r for r in group.refs if r.fragment and (
            "%" in r.fragment or r.fragment not in target.anchors
            or (r.target and landing.get(r.fragment) != r.target))]
        if doubtful:
            expected.append((group, target, doubtful))
        named = _named_ids(target.anchors, landing)
        for ref in group.refs:  # a link passed over at a glance is not doubtful
            assert not (_all_land([ref], named) and ref in doubtful), ref
            passed += _all_land([ref], named)
    assert _doubtful_fragments(project) == expected
    assert passed > 10
    fragments = [r.fragment for _, _, refs in expected for r in refs]
    assert fragments == ["rate%20card", "rate%2520card", "notes", "api-001-get-items",
                         "api-009-missing", "api-001-get-itemz", "nowhere", "BR-001-Refund-Window",
                         "br-001-refund"]


def _landing(doc, fragment_id) -> dict[str, str]:
    """Anchor -> ID of the entry it lands on, found the plain way."""
    out: dict[str, Entry] = {}
    by_id = {e.id: e for e in doc.entries}
    for e in doc.entries:
        for a in e.anchors:
            if a:
                out.setdefault(a, e)
    for a in doc.explicit_anchors:
        named = by_id.get(fragment_id(a.lower()))
        if named is not None and fragment_id(a.lower()) == a.upper():
            out[a] = named
    return {a: e.id for a, e in out.items()}


def test_navigation_categories_are_the_first_ranges_of_lines() -> None:
    """Each line's first range names a category, unless it comes after a link's label:
    as a search of the whole section for every range finds them."""
    from sot_builder.navigation import find_navigation
    from sot_builder.parse import parse_document

    rng = random.Random(5)
    ids = ["API-001", "API-099", "API-100", "BR-007", "API-FEA-010", "api-001", "XAPI-002",
           "API-0012"]
    seps = [" to ", " → ", "->", " - ", "-", "..", "…", " through ", "to", " ", "\t- "]
    parts = ["**Core**", "### Core", "(", ")", "[", "]", "](", "](#api-001-x)",
             "[API-001](#api-001)", "- ", "Phase 2", ":", "#", " ", "x"]

    def piece() -> str:
        if rng.random() < 0.4:
            return rng.choice(ids) + rng.choice(seps) + rng.choice(ids)
        return rng.choice(parts + ids)

    found = 0
    for _ in range(300):
        body = ["## Navigation by Category", ""]
        for _ in range(rng.randint(1, 12)):
            body.append("".join(piece() for _ in range(rng.randint(0, 6))))
        text = "# File\n\n" + "\n".join(body) + "\n\n## Other\n"
        doc = parse_document(text.encode(), "SoT/SoT.API_CONTRACTS.md", "sot")
        nav = find_navigation(doc)
        got = [(c.name, c.prefix, c.first, c.last, c.line) for c in nav.categories]
        assert got == _categories_by_whole_search(doc, nav.line, nav.end_line), text
        found += len(got)
    assert found > 100


def _categories_by_whole_search(doc, start: int, end: int) -> list[tuple]:
    import re

    from sot_builder.navigation import _BOLD_RE
    from sot_builder.parse import RANGE_RE

    out = []
    text = "\n".join(doc.lines[start:end])
    last = -1
    for m in RANGE_RE.finditer(text):
        line_start = text.rfind("\n", 0, m.start()) + 1
        if line_start == last:
            continue
        last = line_start
        line_end = text.find("\n", m.end())
        line = text[line_start:line_end if line_end >= 0 else len(text)]
        at = m.start() - line_start
        if m.group(1) == m.group(4) and "](" not in line[:at]:
            name_m = _BOLD_RE.search(line)
            name = (name_m.group(1) or name_m.group(2)) if name_m else line[:at]
            name = re.sub(r"\(.*$", "", name).strip(" *:-#")
            out.append((name, m.group(1), int(m.group(3)), int(m.group(6)),
                        start + 1 + text.count("\n", 0, line_start)))
    return out


def test_plain_numbers_are_those_split_id_reads() -> None:
    """Where `_plain_number` reads an ID, `split_id` reads the same (elsewhere it is left to it)."""
    from sot_builder.parse import split_id
    from sot_builder.rules.ids import _plain_number

    rng = random.Random(9)
    heads = ["API-", "AP-", "API-FEA-", "API", "APIX-", "-", ""]
    pieces = ["0", "1", "12", "123", "٣", "²", "\n", " ", "x", "-", "1234567890"]
    read = 0
    for _ in range(5000):
        ident = rng.choice(heads) + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 4)))
        for prefix in ("API", "AP"):
            number = _plain_number(ident, prefix + "-")
            if number is not None:
                assert split_id(ident) == (prefix, "", number), ident
                read += 1
    assert read > 100
