"""The parser on the shapes real SoT repositories use."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sot_builder import parse as parse_module
from sot_builder.parse import ParseMemo, ParseOptions, parse_document, split_id


def parse(text: str, **opts):
    return parse_document(text.encode("utf-8"), "SoT/SoT.X.md", "sot", ParseOptions(**opts))


@pytest.mark.parametrize(
    "heading, ident, title",
    [
        ("## PIC-001: Stripe Payment Processing", "PIC-001", "Stripe Payment Processing"),
        ("# BR-001: Title", "BR-001", "Title"),
        ("## BR-001 | Rate limit", "BR-001", "Rate limit"),
        ("### UJ-101 — Discover cafes", "UJ-101", "Discover cafes"),
        ("### BR-005: Old name [DEPRECATED]", "BR-005", "Old name [DEPRECATED]"),
        ("#### BR-FEA-001: Compound", "BR-FEA-001", "Compound"),
        ("## BR-1000: Four digits", "BR-1000", "Four digits"),
    ],
)
def test_entry_headings(heading, ident, title):
    doc = parse(f"{heading}\n\n**Status**: Active\n")
    assert [(e.id, e.title, e.line) for e in doc.entries] == [(ident, title, 1)]
    assert doc.entries[0].status == "Active"


def test_heading_levels_and_entry_ends():
    doc = parse("# A\n\n## PIC-001: One\n\ntext\n\n### Sub\n\nx\n\n## PIC-002: Two\n\n## Update Protocol\n")
    one, two = doc.entries
    assert (one.line, one.end_line, two.line, two.end_line) == (3, 9, 11, 11)
    assert one.sections[0].title == "Sub"


def test_deprecated_by_title_status_and_section():
    doc = parse(
        "## BR-005: Old [DEPRECATED]\n\n## BR-006: x\n**Status**: Superseded\n\n"
        "## Deprecated\n\n### BR-007: y\n**Status**: Active\n"
    )
    assert [e.deprecated for e in doc.entries] == [True, True, True]


def test_compound_id_is_one_id():
    assert split_id("BR-FEA-001") == ("BR", "FEA", 1)
    doc = parse("## PIC-001: x\n\nSee BR-FEA-001 and BR-1000.\n")
    assert [r.target for r in doc.refs] == ["BR-FEA-001", "BR-1000"]


@pytest.mark.parametrize(
    "line",
    [
        "**Status**: Active",
        "- **Status**: Active",
        "**Status:** Active",
        "**Status**: Active  ",
    ],
)
def test_field_forms(line):
    doc = parse(f"## PIC-001: x\n\n{line}\n")
    f = doc.entries[0].field("status")
    assert f is not None and f.value == "Active" and f.line == 3


def test_field_value_on_next_line():
    doc = parse("## PIC-001: x\n\n**Status**\nActive\n")
    assert doc.entries[0].status == "Active"


def test_links_with_positions_and_parts():
    doc = parse(
        "## PIC-001: x\n\n### Integration Points\n\n**Our APIs**:\n"
        "- [API-045](SoT.API_CONTRACTS.md#api-045) - POST /payments/charge\n"
        "- [BR-001](#br-001-title) — implements: rule\n"
        "- [FEA-002 in PRD](../PRD.md)\n"
    )
    refs = doc.refs
    assert [(r.target, r.line, r.column, r.kind) for r in refs] == [
        ("API-045", 6, 3, "link"), ("BR-001", 7, 3, "link"), ("FEA-002", 8, 3, "link"),
    ]
    api = refs[0]
    assert (api.file, api.fragment, api.note, api.source, api.section, api.field) == (
        "SoT.API_CONTRACTS.md", "api-045", "POST /payments/charge", "PIC-001",
        "Integration Points", "Our APIs",
    )
    assert refs[1].file == "" and refs[1].note == "implements: rule"
    assert refs[2].file == "../PRD.md" and refs[2].fragment == ""



def test_a_link_written_again_with_another_label_gets_its_own_target():
    memo = ParseMemo()
    first = parse_document("- [API-001](SoT.API.md#api-001)\n- [see](SoT.API.md#api-001)\n",
                           "SoT/SoT.A.md", memo=memo)
    second = parse_document("- [API-002](SoT.API.md#api-001)\n- [API-001](SoT.API.md#api-001)\n",
                            "SoT/SoT.B.md", memo=memo)
    assert [(r.target, r.label) for r in first.refs + second.refs] == [
        ("API-001", "API-001"), ("API-001", "see"), ("API-002", "API-002"), ("API-001", "API-001"),
    ]
    assert {(r.file, r.fragment) for r in first.refs + second.refs} == {("SoT.API.md", "api-001")}


def test_a_load_keeps_one_copy_of_repeated_heading_texts_but_not_of_entry_headings():
    memo = ParseMemo()
    first = parse_document("## API-001: Charge\n### Related\n- [API-002](#api-002-refund)\n",
                           "SoT/SoT.A.md", memo=memo)
    second = parse_document("## API-002: Refund\n### Related\n- [API-001](SoT.A.md#api-001-charge)\n",
                            "SoT/SoT.B.md", memo=memo)
    assert [h.text for h in first.headings + second.headings] == [
        "API-001: Charge", "Related", "API-002: Refund", "Related",
    ]
    assert first.headings[1].text is second.headings[1].text
    assert "Related" in memo.strings
    assert "API-001: Charge" not in memo.strings and "API-002: Refund" not in memo.strings


def test_the_parts_of_links_kept_for_a_load_are_bounded(monkeypatch):
    monkeypatch.setattr(parse_module, "LINK_MEMO_MAX", 5)
    monkeypatch.setattr(parse_module, "INLINE_BLOCK", 2)
    memo = ParseMemo()
    text = "".join(f"- [API-{k:03d}](SoT.API.md#api-{k:03d})\n" for k in range(1, 41))
    doc = parse_document(text, "SoT/SoT.A.md", memo=memo)
    assert [r.target for r in doc.refs] == [f"API-{k:03d}" for k in range(1, 41)]
    assert len(memo.links) < 5 + 2

def test_ranges_are_not_references():
    doc = parse(
        "Ranges API-001 → API-003, API-001..API-003 and (BR-001 to BR-099); but API-004 counts.\n"
    )
    assert [r.target for r in doc.refs] == ["API-004"]


def test_code_spans_configurable():
    text = "Use `API-001` here.\n"
    assert [r.kind for r in parse(text).refs] == ["code"]
    assert parse(text, code_spans=False).refs == ()


def test_fences_and_comments_hide_everything():
    doc = parse(
        "```md\n## PIC-009: not an entry API-001\n```\n"
        "<!-- BR-777\n## PIC-008: hidden -->\n"
        "~~~\nAPI-002\n~~~\nAfter API-003 <!-- API-004 --> API-005\n"
    )
    assert doc.entries == ()
    assert [r.target for r in doc.refs] == ["API-003", "API-005"]


def test_table_row_entries_only_for_declared_prefixes():
    text = "| ID | Name | Status |\n|----|------|--------|\n| ENV-001 | Production | Active |\n"
    assert parse(text).entries == ()
    (env,) = parse(text, table_prefixes=frozenset({"ENV"})).entries
    assert (env.id, env.title, env.line, env.level, env.status) == ("ENV-001", "Production", 3, 0, "Active")


def test_bare_ids_in_tables_are_references():
    doc = parse("| A | B |\n|---|---|\n| uses API-045 | x |\n")
    assert [(r.target, r.kind, r.line) for r in doc.refs] == [("API-045", "table", 3)]


def test_broken_frontmatter_is_a_problem_with_its_line():
    doc = parse("---\nversion: 1.0\npurpose: [unclosed\nother: x\n---\n\n## PIC-001: x\n")
    (problem,) = doc.problems
    assert problem.code == "SOT001" and problem.line >= 3
    assert [e.id for e in doc.entries] == ["PIC-001"]


def test_frontmatter_keys_and_lines():
    doc = parse("---\nversion: 1.0\nid_prefix: PIC-###\n---\n# T\n")
    assert doc.frontmatter == {"version": 1.0, "id_prefix": "PIC-###"}
    assert doc.frontmatter_lines == {"version": 2, "id_prefix": 3}
    assert doc.body_start == 5


FRONTMATTER_LINES = [
    "version: 1.0", "id_prefix: PIC-###", "last_updated: 2025-01-10", "count: 12", "zero: 0",
    "purpose: Source of Truth for payments, refunds [and] {more} — été", "empty:", "url: http://x.y/z",
    "odd: 007", "big: 1_000", "hex: 0x1F", "sci: 1e5", "dot: .5", "time: 1:30", "bad_date: 2025-13-01",
    "flag: yes", "off: x", "nothing: null", "tilde: ~", "quoted: 'x'", "list: [a, b]", "tag: !x y",
    "colon: a: b", "comment: a #b", "hash: a#b", "tail: a:", "tab:\tx", "x: a\tb", "  indented: x", "",
    "nbsp: a\u00a0#b", "sep: a\u2028b", "key:value", "dup: 1", "dup: 2", "long: " + "9" * 30,
]


@pytest.mark.parametrize("line", FRONTMATTER_LINES)
def test_simple_frontmatter_reads_as_yaml_does(line):
    for source in (line, f"a: b\n{line}\nz: 2025-01-10", f"{line}\n{line}"):
        assert_same_as_yaml(source)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(FRONTMATTER_LINES), max_size=6),
       st.text(alphabet=st.sampled_from(list("aZ09 -_.:#'\"!&*,[]{}\t\u00a0\u2014\u2028")), max_size=12))
def test_simple_frontmatter_property(lines, text):
    assert_same_as_yaml("\n".join([*lines, f"k: {text}", f"k{text}: v"]))


def assert_same_as_yaml(source):
    """The fast reading of simple frontmatter, where it applies, equals yaml's (values and types)."""
    import yaml

    from sot_builder.parse import simple_frontmatter

    fast = simple_frontmatter(source)
    if fast is None:
        return
    slow = yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    assert list(fast.items()) == list(slow.items())
    assert [type(v) for v in fast.values()] == [type(v) for v in slow.values()]


def test_anchors_slugs_and_explicit():
    doc = parse('## A\n## A\n<a id="api-001"></a>\n## API-001: Get {#custom}\n')
    assert {"a", "a-1", "api-001", "custom"} <= doc.anchors


def test_crlf_and_bom_positions():
    data = "\ufeff## PIC-001: x\r\n\r\n**Status**: Active\r\n".encode("utf-8")
    doc = parse_document(data, "x.md")
    assert doc.newline == "\r\n"
    assert doc.entries[0].field("Status").line == 3


def test_binary_and_bad_utf8_are_problems():
    assert parse_document(b"\x00\x01abc", "x.md").problems[0].code == "SOT002"
    bad = parse_document(b"ok\n\xff\xfe\xfa bad\n"[0:3] + b"\xc3\x28\n", "x.md")
    assert bad.problems[0].code == "SOT002" and bad.problems[0].line == 2


def test_placeholders_recorded():
    doc = parse("## BR-012: {Rule name}\n\n**Status**: {Status}\n")
    assert [p for p, _ in doc.entries[0].placeholders] == ["{Rule name}", "{Status}"]


def test_suppressions_and_regions():
    doc = parse(
        "<!-- sotb-disable-next-line SOT201 -->\nAPI-001\n"
        "<!-- sotb:begin navigation -->\nx\n<!-- sotb:end navigation -->\n"
    )
    assert [(s.kind, s.codes, s.line) for s in doc.suppressions] == [("disable-next-line", ("SOT201",), 1)]
    assert [(r.name, r.begin_line, r.end_line) for r in doc.regions] == [("navigation", 3, 5)]


def test_suppression_reason_may_contain_angle_brackets():
    doc = parse("<!-- sotb-disable-next-line SOT201 -- see A -> B -->\nAPI-001\n")
    assert [(s.kind, s.line) for s in doc.suppressions] == [("disable-next-line", 1)]


def test_range_forms():
    doc = parse("A API-001 - API-003 B API-004-API-005 C BR-001 – API-002 D UJ-010 to UJ-020\n")
    assert [r.target for r in doc.refs] == ["API-004", "BR-001", "API-002"]


# The ATX heading as one regular expression: slow (its lazy text is retried at
# every character), but plainly what a heading's text is.
_ONE_PATTERN = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet=" \t#a\\-\r\x0b", max_size=16))
def test_heading_text_is_what_the_one_pattern_captures(line):
    from sot_builder.parse import _HEADING_RE, atx_text

    want = _ONE_PATTERN.match(line)
    got = _HEADING_RE.match(line)
    assert (got is None) == (want is None)
    if got is not None:
        assert (got.group(1), atx_text(got.group(2))) == (want.group(1), want.group(2) or "")


@pytest.mark.parametrize("line, text", [
    ("## Title ##", "Title"), ("## Title#", "Title#"), ("# #", "#"), ("#  ##", "##"),
    ("### a # #  ", "a #"), ("#\t", ""), ("# Title \\#", "Title \\#"),
])
def test_heading_text_drops_a_closing_sequence(line, text):
    doc = parse(line + "\n")
    assert [h.text for h in doc.headings] == [text]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["AB", "ABC", "ABCDEF", "-", "001", "1234567890", "x", " ", "_", "FEA",
                                 "B", "-0", "9", "\n", "a"]), max_size=14))
def test_ids_in_finds_what_finditer_finds(parts):
    from sot_builder.parse import ID_RE, ids_in

    text = "".join(parts)
    assert [(m.span(), m.groups()) for m in ids_in(text)] == [(m.span(), m.groups()) for m in ID_RE.finditer(text)]


# the link pattern as first written: an alternation of one label character, an escape
# or a bracketed part, repeated; the parser's runs of plain characters must match the same
_LINK_AS_ALTERNATION = (
    r"\[((?:[^\[\]\\\n]|\\.|\[[^\[\]\n]*\])*)\]\([ \t]*(<[^>\n]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)"
    r"(?:[ \t]+(?:\"[^\"\n]*\"|'[^'\n]*'|\([^)\n]*\)))?[ \t]*\)"
)


@settings(max_examples=4000, deadline=None)
@given(st.lists(st.sampled_from(["[", "]", "(", ")", "\\", "\n", " ", "\t", "a", "API-001", "x.md#y", "<",
                                 ">", '"', "'", "](", "[b]", "\\]", "!"]), max_size=16))
@example(["[", "\\", "a", "](", "x", ")"])
@example(["[", "a", "\\]", "b", "](", "x", ")"])
@example(["[", "[b]", "a", "[b]", "](", "<", "x y", ">", ")"])
@example(["!", "[", "\\", "[", "](", "x.md#y", " ", '"', "t", '"', ")", "[b]"])
def test_the_link_pattern_matches_what_its_alternation_matches(parts):
    from sot_builder.parse import _LINK_RE

    text = "".join(parts)
    alternation = re.compile(_LINK_AS_ALTERNATION)
    assert [(m.span(), m.groups()) for m in _LINK_RE.finditer(text)] == \
        [(m.span(), m.groups()) for m in alternation.finditer(text)]


_BLOCKY = """\
# Services

[api]: SoT.API_CONTRACTS.md#api-001-create

## PIC-001: Stripe {placeholder}
**Status**: Active
**Owner**: payments — see API-001 → API-003 and `BR-002`
- [API-001](SoT.API_CONTRACTS.md#api-001-create) — implements: checkout
- [the API][api] and ![diagram](img/PIC-001.png)

| ID | Name |
|----|------|
| ENV-001 | Prod, uses PIC-001 |

```
API-999 in a fence
```
<!-- API-998 in a comment
still hidden --> after it, [BR-001](#br-001) — Rule one
### Notes
Plain DBT-004 mention, `code MIG-001` and [x](<#pic-001-stripe-placeholder>) - tail
"""


@pytest.mark.parametrize("block", [1, 2, 3, 5, 8, 2048])
def test_the_inline_pass_gives_the_same_document_whatever_its_block_size(monkeypatch, block):
    from sot_builder import parse

    opts = ParseOptions(table_prefixes=frozenset({"ENV"}))
    whole = parse_document(_BLOCKY * 3, "SoT/x.md", "sot", opts)
    monkeypatch.setattr(parse, "INLINE_BLOCK", block)
    blocked = parse_document(_BLOCKY * 3, "SoT/x.md", "sot", opts)
    assert blocked == whole
    assert len(whole.refs) >= 30 and any(e.placeholders for e in whole.entries)
    assert {r.kind for r in whole.refs} >= {"link", "bare", "code", "table"}


@pytest.mark.parametrize("text, noted", [
    ("Limits follow P:BR-003.\n", True),
    ("Limits follow `Q:API-001`.\n", True),
    ("| x | P:BR-003 |\n", True),
    ("Email Consent: Limits, BR-003: fine, see BR-004\n", False),
    (":BR-003 has no namespace\n", False),
    ("See [P:BR-003](x.md#br-003) - a link\n", True),
    ("See [BR-003](x.md#br-003) - Email: Limits\n", False),
    ("See [Docs: intro](x.md#intro) - no ID\n", False),
])
def test_a_reference_that_may_name_another_registry_is_noted(text, noted):
    doc = parse_document(f"# T\n\n{text}", "SoT/x.md")
    assert doc.colon_refs is noted


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(["deprecated", "DEPRECATED", "Superseded", "retired", "RETIRED", "re", "tired",
                                 "x", " ", "-", "_", "(", "ſuperseded", "retıred", "\u212aey", "é", "1"]),
                max_size=6))
def test_says_deprecated_agrees_with_the_pattern(parts):
    from sot_builder.parse import _DEPRECATED_RE, says_deprecated

    text = "".join(parts)
    assert says_deprecated(text) == bool(_DEPRECATED_RE.search(text))


def test_a_document_keeps_the_hash_of_its_file_s_bytes():
    from sot_builder.hashing import file_sha

    data = "## API-001: x\n\n**Status**: Active\n".encode()
    doc = parse_document(data, "SoT/SoT.A.md")
    assert doc.sha == file_sha(data) == parse_document(data.decode(), "SoT/SoT.A.md").sha
    assert file_sha(data + b"\n") != doc.sha and len(doc.sha) == 32
