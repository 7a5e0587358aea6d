"""The limits and linear-time scanners that keep hostile input from hanging or crashing sotb."""

from __future__ import annotations

import os
import pickle

import pytest

from sot_builder import cache
from sot_builder.config import load_config
from sot_builder.diagnostics import SotbError
from sot_builder.parse import _code_spans, _expanded_size, parse_document
from sot_builder.registry import backtracking_risk, validate_definition

from ._support import PIC_FILE, assert_clean_exit, make_project, run_inprocess


# -- YAML frontmatter -----------------------------------------------------------------------
def _frontmatter_problems(head: str) -> list[str]:
    doc = parse_document(f"---\n{head}---\n# T\n".encode(), "SoT/SoT.T.md")
    return [p.message for p in doc.problems if p.code == "SOT001"]


def test_alias_expansion_is_counted_once_per_shared_node():
    shared = ["x"] * 10
    data = {"a": shared, "b": [shared] * 10, "c": [[shared] * 10] * 10}
    # shared: 1 + 10; b: 1 + 10 * 11; c: 1 + 10 * (1 + 10 * 11); the dict: 1 + 3 keys + values
    assert _expanded_size(data, 10**9) == 1 + 3 + 11 + 111 + 1111
    assert _expanded_size(data, 1000) > 1000


def test_self_reference_and_depth_exceed_the_limit():
    loop: list = []
    loop.append(loop)
    assert _expanded_size({"a": loop}, 100) > 100
    deep: list = []
    node = deep
    for _ in range(60):
        node.append([])
        node = node[0]
    assert _expanded_size(deep, 10**6) > 10**6
    assert _expanded_size({"title": "x", "tags": ["a", "b"]}, 100) == 7


@pytest.mark.parametrize(
    "head",
    [
        "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"{n}: &{n} [{', '.join(['*' + p] * 10)}]\n" for p, n in zip("abcde", "bcdef")),
        "a: &a [*a]\n",
        "a: &a {b: *a}\n",
        "key: " + "[" * 200 + "]" * 200 + "\n",
    ],
)
def test_frontmatter_that_would_hang_or_crash_a_reader_is_refused(head):
    assert _frontmatter_problems(head)


def test_ordinary_frontmatter_with_aliases_is_accepted():
    assert _frontmatter_problems("base: &base {owner: team}\nother: *base\nlist: [1, 2, 3]\n") == []


def test_long_frontmatter_says_it_is_too_long():
    head = "".join(f"k{i}: v\n" for i in range(3000))
    [message] = _frontmatter_problems(head)
    assert "within 2000 lines" in message


# -- inline scanners --------------------------------------------------------------------------
def test_code_spans_follow_commonmark_runs():
    text = "a `PIC-001` b ``x ` y`` c ``` none\nnext ` line"
    spans = [(text[a:b], text[c:d]) for a, b, c, d in _code_spans(text)]
    assert spans == [("`PIC-001`", "PIC-001"), ("``x ` y``", "x ` y")]


def test_code_spans_never_cross_a_line():
    assert _code_spans("one `open\nclose` two") == []


def test_ids_in_code_spans_and_links_are_found_on_long_runs_of_markup():
    line = (
        "[" * 20_000
        + "`" * 20_000
        + "](" * 20_000
        + " `PIC-002` [PIC-003](#pic-003) [a [b] c](#pic-004)"
    )
    doc = parse_document(f"# T\n\n{line}\n".encode(), "SoT/SoT.T.md")
    found = sorted((r.target, r.kind) for r in doc.refs)
    assert found == [("PIC-002", "code"), ("PIC-003", "link"), ("PIC-004", "link")]


@pytest.mark.parametrize(
    "line",
    [
        r"## PIC-002: \<!-- not a comment --\>",
        "Write `<!--` to open a comment and `-->` to close it.",
        r"## PIC-002: \<a id=\"pic-001\"\>\</a\> not an anchor",
    ],
)
def test_escaped_or_quoted_html_is_text(line):
    text = f"# T\n\n{line}\n\n## PIC-003: After\n"
    doc = parse_document(text.encode(), "SoT/SoT.T.md")
    assert doc.problems == ()
    assert "PIC-003" in [e.id for e in doc.entries]
    assert "pic-001" not in doc.explicit_anchors


def test_a_link_note_ends_at_the_next_link():
    doc = parse_document(
        b"# T\n\n- [PIC-001](#a) - Stripe, [PIC-002](#b) - Adyen\n", "SoT/SoT.T.md"
    )
    assert [r.note for r in doc.refs] == ["Stripe,", "Adyen"]


def test_reference_links_next_to_many_inline_links():
    body = "[a](b) " * 5000 + "[x][ref] " * 5000
    doc = parse_document(f"# T\n\n[ref]: SoT.X.md#pic-001\n\n{body}\n".encode(), "SoT/SoT.T.md")
    assert sum(r.href == "SoT.X.md#pic-001" for r in doc.refs) == 5000


# -- type definitions -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "pattern",
    [
        r"^(GET|POST) /",
        r"^\d{4}-\d{2}-\d{2}$",
        r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        r"^https?://\S+$",
        r"^v?\d+\.\d+(\.\d+)?$",
        r".*.*x",
        r"^\w+\s\w+\s\w+$",
    ],
)
def test_safe_patterns_are_accepted(pattern):
    assert backtracking_risk(pattern) == ""


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",
        r"((a+))+$",
        r"(?:x+)+",
        r"(a*)*",
        r"(\w+\s?)*$",
        r"(.*a){20}",
        r"(a|a)+$",
        r"(a|aa)*b",
        r"\w+\w+\w+x",
        r".*,.*,.*x",
        r"(a)\1",
        r"(?=a)b",
        r"(?<!a)b",
    ],
)
def test_catastrophic_patterns_are_rejected(pattern):
    assert backtracking_risk(pattern)
    with pytest.raises(
        SotbError, match=r"types/x.yaml: invalid type definition at /fields/0/pattern"
    ):
        validate_definition(
            {"prefix": "XX", "title": "X", "fields": [{"name": "F", "pattern": pattern}]},
            "types/x.yaml",
        )


@pytest.mark.parametrize(
    "category, width, where",
    [
        ({"name": "Huge", "first": 1_000_000_000, "last": 1_000_000_005}, 3, "/categories/0/last"),
        ({"name": "Huge", "first": 1, "last": 10**40}, 3, "/categories/0/last"),
        ({"name": "Tiny", "first": 1, "last": 9}, 1, "/categories/0/first"),
    ],
)
def test_categories_whose_ids_could_never_parse_are_rejected(category, width, where):
    data = {"prefix": "XX", "title": "X", "width": width, "categories": [category]}
    with pytest.raises(SotbError, match=f"at {where}"):
        validate_definition(data, "types/x.yaml")


# -- caches ----------------------------------------------------------------------------------
def test_a_cache_that_cannot_be_written_does_not_fail_lint(tmp_path, monkeypatch, capsys):
    root = make_project(tmp_path / "p")
    monkeypatch.chdir(root)

    def broken_dump(*args, **kwargs):
        raise RecursionError("maximum recursion depth exceeded while pickling an object")

    monkeypatch.setattr(pickle, "dump", broken_dump)  # the lint result
    monkeypatch.setattr(cache, "pack", broken_dump)  # the parsed documents
    result = run_inprocess(capsys, "lint")
    assert_clean_exit(result, (0,))
    assert list(root.rglob("*.tmp")) == []
    # both stores (the lint result and the parsed documents) failed and cleaned up after themselves
    assert not list((root / ".sotb_cache").rglob("*.pickle"))


def test_symlink_loops_are_reported_not_followed(tmp_path, monkeypatch, capsys):
    root = make_project(
        tmp_path / "p", config='root = "SoT"\ndocuments = ["**/*.md"]\n\n[types.PIC]\n'
    )
    sot = root / "SoT"
    os.symlink(".", sot / "again")
    os.symlink(".", sot / "twice")  # two loops: following them would branch without end
    os.symlink("SoT.B.md", sot / "SoT.A.md")
    os.symlink("SoT.A.md", sot / "SoT.B.md")
    os.symlink("SoT.SELF.md", sot / "SoT.SELF.md")
    monkeypatch.chdir(root)
    result = run_inprocess(capsys, "lint", "--format", "json")
    assert_clean_exit(result, (1,))
    unreadable = {p["path"] for p in result.problems() if p["code"] == "SOT002"}
    assert unreadable == {"SoT/SoT.A.md", "SoT/SoT.B.md", "SoT/SoT.SELF.md"}
    assert not any("again/" in p["path"] or "twice/" in p["path"] for p in result.problems())
    assert all(p["line"] == 1 for p in result.problems() if p["code"] == "SOT002")
    config = load_config(root)
    assert config.root == sot.resolve()
    before = (root / PIC_FILE).read_bytes()
    synced = run_inprocess(capsys, "sync")
    assert_clean_exit(synced, (0,))
    assert (root / PIC_FILE).read_bytes() == before
    assert all(os.path.islink(sot / n) for n in ("SoT.A.md", "SoT.B.md", "SoT.SELF.md"))


def test_cache_temps_of_killed_runs_are_removed(tmp_path, monkeypatch, capsys):
    import subprocess

    root = make_project(tmp_path / "p")
    monkeypatch.chdir(root)
    dead = subprocess.Popen(["true"])
    dead.wait()
    (root / ".sotb_cache").mkdir()
    stale = root / ".sotb_cache" / f"parse-0123abcd.{dead.pid}.tmp"
    stale.write_bytes(b"half a pickle")
    mine = root / ".sotb_cache" / f"lint-result.{os.getppid()}.tmp"  # a live process: kept
    mine.write_bytes(b"in progress")
    assert_clean_exit(run_inprocess(capsys, "lint"), (0,))
    assert not stale.exists() and mine.exists()
