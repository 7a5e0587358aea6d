"""Hypothesis fuzzing: parse -> lint -> sync over generated Markdown.

Properties: nothing raises (sync may refuse with a SotbError, and then writes
nothing); positions lie inside the file; a second sync changes nothing; every
line outside generated regions is kept byte for byte and in order.

Budget: SOTB_FUZZ_EXAMPLES examples per test (see conftest.py for the long mode).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sot_builder import engine
from sot_builder.config import load_config
from sot_builder.diagnostics import SotbError
from sot_builder.parse import parse_document
from sot_builder.project import load_project

from ._support import PIC_FILE, make_project
from .conftest import fuzz_examples

pytestmark = pytest.mark.fuzz

FUZZ = settings(
    max_examples=fuzz_examples(),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

IDS = ["PIC-001", "PIC-002", "PIC-003", "PIC-101", "PIC-404", "API-001", "PIC-0002", "BR-FEA-001"]
ALPHABET = list("abcXYZ019 -_.,:;!?*`[]()#|<>{}~\\'\"/=é😀\t") + ["\u202e", "\u00a0"]

words = st.text(alphabet=st.sampled_from(ALPHABET), max_size=24)
ident = st.sampled_from(IDS)
anchor = st.one_of(
    ident.map(str.lower),
    st.sampled_from(["pic-001-stripe-payment-processing", "missing", ""]),
    words.map(lambda w: w.lower().replace(" ", "-")),
)
href = st.one_of(
    anchor.map(lambda a: f"#{a}"),
    st.tuples(
        st.sampled_from(
            [
                "SoT.PARTNER_INTEGRATIONS.md",
                "SoT.NOPE.md",
                "../../../etc/passwd",
                "/etc/passwd",
                "http://example.com/x",
                "SoT.README.md",
            ]
        ),
        anchor,
    ).map(lambda t: f"{t[0]}#{t[1]}"),
)


def _heading():
    entry = st.tuples(st.integers(1, 6), ident, words).map(lambda t: f"{'#' * t[0]} {t[1]}: {t[2]}")
    plain = st.tuples(st.integers(1, 6), words).map(lambda t: f"{'#' * t[0]} {t[1]}")
    return st.one_of(entry, entry, plain)


def _field():
    names = st.sampled_from(
        ["Status", "Partner", "Billing Contact", "SLA Guarantee", "Related", "Uses", "X"]
    )
    values = st.one_of(
        st.sampled_from(["Active", "Deprecated", "{Partner name}", ""]), words, ident
    )
    return st.tuples(names, values).map(lambda t: f"**{t[0]}**: {t[1]}")


def _link():
    link = st.tuples(st.one_of(ident, words), href, words).map(
        lambda t: f"- [{t[0]}]({t[1]}) - {t[2]}"
    )
    return st.one_of(
        link, st.tuples(ident, ident).map(lambda t: f"See {t[0]} and `{t[1]}`, {t[0]} → {t[1]}")
    )


def _block():
    fence = st.tuples(
        st.sampled_from(["```", "~~~", "````"]), st.lists(words, max_size=3), st.booleans()
    ).map(lambda t: "\n".join([t[0] + "sql", *t[1]] + ([t[0]] if t[2] else [])))
    comment = st.tuples(words, st.booleans()).map(
        lambda t: f"<!-- {t[0]}" + (" -->" if t[1] else "")
    )
    suppress = st.sampled_from(
        [
            "<!-- sotb-disable-next-line SOT201 -->",
            "<!-- sotb-disable SOT2 -->",
            "<!-- sotb-enable -->",
            "<!-- sotb-disable-file SOT999 -->",
        ]
    )
    region = st.tuples(
        st.sampled_from(["navigation", "files", "index", "other"]),
        st.lists(_link(), max_size=3),
        st.sampled_from(["both", "begin", "end"]),
    ).map(_region)
    table = st.lists(st.tuples(ident, words), min_size=1, max_size=3).map(
        lambda rows: (
            "| ID | Title |\n|----|-------|\n" + "\n".join(f"| {i} | {w} |" for i, w in rows)
        )
    )
    nested = st.tuples(st.integers(1, 30), words).map(
        lambda t: "  " * t[0] + "- " + "> " * t[0] + t[1]
    )
    return st.one_of(
        _heading(),
        _field(),
        _link(),
        fence,
        comment,
        suppress,
        region,
        table,
        nested,
        words,
        st.just(""),
        st.just("---"),
        st.just("| a | b |"),
    )


def _region(t: tuple) -> str:
    name, items, shape = t
    begin, end = f"<!-- sotb:begin {name} -->", f"<!-- sotb:end {name} -->"
    lines = ([begin] if shape != "end" else []) + items + ([end] if shape != "begin" else [])
    return "\n".join(lines)


frontmatter = st.one_of(
    st.just(""),
    st.just("---\nid_prefix: PIC\nlast_updated: 2025-01-10\n---\n"),
    st.just("---\npurpose: [unclosed\n---\n"),
    st.just("---\na: &a [x, x]\nb: [*a, *a]\n---\n"),
    words.map(lambda w: f"---\ntitle: '{w}'\n---\n"),
)


@st.composite
def documents(draw) -> bytes:
    blocks = draw(st.lists(_block(), max_size=25))
    text = draw(frontmatter) + "# Partner Integration Contracts\n\n" + "\n".join(blocks)
    if draw(st.booleans()):
        text += "\n"
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    data = text.replace("\n", newline).encode("utf-8")
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    return data


# -- helpers ---------------------------------------------------------------------------------------
def _outside_regions(data: bytes, path: str) -> list[bytes]:
    """The lines (with a trailing \\r, if any) outside closed generated regions."""
    doc = parse_document(data, path)
    inside: set[int] = set()
    for r in doc.regions:
        if r.end_line:
            inside.update(range(r.begin_line + 1, r.end_line))
    return [line for n, line in enumerate(_lines(data), 1) if n not in inside]


def _is_subsequence(small: list[bytes], big: list[bytes]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


def _lines(data: bytes) -> list[bytes]:
    """Lines without terminators and without a final "\\r" (a last line may gain a newline)."""
    out = data.split(b"\n")
    out = out[:-1] if out and out[-1] == b"" else out
    return [line.removesuffix(b"\r") for line in out]


def _check_positions(data: bytes) -> None:
    doc = parse_document(data, PIC_FILE)
    n = len(doc.lines)
    for e in doc.entries:
        assert 1 <= e.line <= e.end_line <= max(n, 1) and e.column >= 1
    for r in doc.refs:
        assert 1 <= r.line <= n and 1 <= r.column <= len(doc.lines[r.line - 1]) + 1
    for p in doc.problems:
        assert 1 <= p.line <= max(n, 1)


# -- properties ------------------------------------------------------------------------------------
@FUZZ
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=2000).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )
)
def test_parse_never_raises_on_any_bytes(data):
    doc = parse_document(data, PIC_FILE)
    assert doc.path == PIC_FILE


@FUZZ
@given(documents())
def test_parse_positions_lie_inside_the_file(data):
    _check_positions(data)


@FUZZ
@given(documents())
def test_parse_lint_sync_round(data):
    with tempfile.TemporaryDirectory() as tmp:
        root = make_project(Path(tmp), {PIC_FILE: data})
        config = load_config(root)
        project = load_project(config, use_cache=False)
        engine.run(project, engine.active_rules(config.values))

        from sot_builder.sync import sync_project

        files = sorted(p.relative_to(root).as_posix() for p in (root / "SoT").glob("*.md"))
        before = {f: (root / f).read_bytes() for f in files}
        try:
            first = sync_project(config, write=True)
        except SotbError as exc:
            event(f"sync refused: {str(exc)[str(exc).find('(') :][:90]}")
            assert {f: (root / f).read_bytes() for f in files} == before
            return
        event("sync wrote" if first.changes else "sync: nothing to change")
        after = {f: (root / f).read_bytes() for f in files}
        for f in files:
            kept = _outside_regions(before[f], f)
            assert _is_subsequence(kept, _lines(after[f])), f
            if before[f].startswith(b"\xef\xbb\xbf"):
                assert after[f].startswith(b"\xef\xbb\xbf")
            if (
                before[f]
                and b"\r\n" in before[f]
                and before[f].count(b"\n") == before[f].count(b"\r\n")
            ):
                assert after[f].count(b"\n") == after[f].count(b"\r\n"), f  # CRLF stays CRLF
        second = sync_project(config, write=True)
        assert second.changes == (), second.diff
        assert {f: (root / f).read_bytes() for f in files} == after
        engine.run(load_project(config, use_cache=False), engine.active_rules(config.values))


def test_sync_after_an_unterminated_fence_is_idempotent(tmp_path):
    from sot_builder.sync import sync_project

    root = make_project(
        tmp_path, {PIC_FILE: b"# Partner Integration Contracts\n\n```sql\nSELECT 1;\n"}
    )
    config = load_config(root)
    sync_project(config, write=True)
    assert sync_project(config, write=True).changes == ()
