"""Line endings: LF and CRLF end a line, and so does a lone CR in a file with no LF (classic Mac).

In a file with LFs, lines are counted as git and editors count them: a stray CR stays
inside its line, so the line numbers sotb reports are the ones people see.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.parse import ParseOptions, parse_document
from sot_builder.project import load_project

RULES = """\
---
owner: billing
---
# Business Rules

## BR-001: Refund window

**Status**: Active

See [BR-002](#br-002-missing) and BR-003.

## BR-002: Fees

**Status**: Active

Back to BR-001.
"""

ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


def parse(data: bytes):
    return parse_document(data, "SoT/SoT.BUSINESS_RULES.md", "sot", ParseOptions())


def shape(doc) -> tuple:
    """Everything positions depend on: lines, entries, fields, references, frontmatter."""
    return (
        list(doc.lines),
        doc.frontmatter, doc.frontmatter_lines, doc.body_start,
        [(e.id, e.title, e.line, e.column, e.end_line) for e in doc.entries],
        [(f.name, f.value, f.line, f.column) for e in doc.entries for f in e.fields],
        [(r.target, r.line, r.column, r.kind) for r in doc.refs],
        [(h.text, h.line) for h in doc.headings],
    )


@pytest.mark.parametrize("name", ["crlf", "cr"])
def test_every_line_ending_parses_like_lf(name: str) -> None:
    lf = parse(RULES.encode())
    other = parse(RULES.replace("\n", ENDINGS[name]).encode())
    assert shape(other) == shape(lf)
    assert [e.id for e in other.entries] == ["BR-001", "BR-002"]
    assert other.newline == ENDINGS[name]
    assert other.text == RULES.replace("\n", ENDINGS[name]).removesuffix(ENDINGS[name])


def test_a_stray_cr_in_a_file_with_lfs_stays_inside_its_line() -> None:
    doc = parse(b"# T\n\none\rtwo\r\nthree\n")
    assert list(doc.lines) == ["# T", "", "one\rtwo", "three"]
    assert doc.newline == "\n"  # the style of the first line
    doc = parse(b"## BR-001: A\r\n\r\n**Status**: Active\rSee BR-002.\r\n")
    assert doc.newline == "\r\n"
    assert list(doc.lines) == ["## BR-001: A", "", "**Status**: Active\rSee BR-002."]
    assert [(r.target, r.line) for r in doc.refs] == [("BR-002", 3)]


def test_a_problem_in_a_cr_file_is_reported_at_its_line() -> None:
    doc = parse(b"# T\r\rtext\rbad \x00 byte\r")
    assert [(p.code, p.line) for p in doc.problems] == [("SOT002", 4)]
    doc = parse(b"# T\r\rtext\rbad \xff\r")
    assert [(p.code, p.line) for p in doc.problems] == [("SOT002", 4)]
    doc = parse(b"# T\r\n\r\n\rbad \xff\r\n")  # LFs in the file: counted as git counts
    assert [(p.code, p.line) for p in doc.problems] == [("SOT002", 3)]


def lint(capsys, monkeypatch, folder: Path) -> tuple[int, str]:
    monkeypatch.chdir(folder)
    capsys.readouterr()
    code = main(["lint", "--no-cache"])
    return code, capsys.readouterr().out


def write_project(folder: Path, newline: str) -> Path:
    (folder / "SoT").mkdir(parents=True)
    (folder / "sotb.toml").write_text("[types]\nBR = {}\n", encoding="utf-8")
    (folder / "SoT" / "SoT.BUSINESS_RULES.md").write_bytes(RULES.replace("\n", newline).encode())
    return folder


def test_lint_reports_a_cr_file_as_its_lf_twin(capsys, monkeypatch, tmp_path: Path) -> None:
    code_lf, out_lf = lint(capsys, monkeypatch, write_project(tmp_path / "lf", "\n"))
    code_cr, out_cr = lint(capsys, monkeypatch, write_project(tmp_path / "cr", "\r"))
    assert "SoT/SoT.BUSINESS_RULES.md:10:35:" in out_lf  # BR-003 is defined nowhere
    assert (code_cr, out_cr) == (code_lf, out_lf)


def test_a_cr_file_keeps_its_style_through_the_cache(tmp_path: Path) -> None:
    folder = write_project(tmp_path / "p", "\r")
    for _ in range(2):  # parsed, then read back from the cache
        project = load_project(load_config(folder))
        doc = project.by_path["SoT/SoT.BUSINESS_RULES.md"]
        assert doc.newline == "\r"
        assert [(e.id, e.line) for e in doc.entries] == [("BR-001", 6), ("BR-002", 12)]


# -- writers keep a classic Mac file's CRs -------------------------------------------------
REPO = Path(__file__).resolve().parents[2]


def cr_registry(folder: Path) -> Path:
    shutil.copytree(REPO / "SoT", folder / "SoT")
    shutil.copy(REPO / "sotb.toml", folder / "sotb.toml")
    for f in (folder / "SoT").glob("*.md"):
        f.write_bytes(f.read_bytes().replace(b"\n", b"\r"))
    return folder


def only_cr(folder: Path) -> None:
    for f in (folder / "SoT").glob("*.md"):
        assert b"\n" not in f.read_bytes(), f.name


def test_sync_keeps_a_cr_file_cr(tmp_path: Path, monkeypatch) -> None:
    root = cr_registry(tmp_path)
    rules = root / "SoT" / "SoT.BUSINESS_RULES.md"
    before = rules.read_bytes()
    lines = before.split(b"\r")
    nav = next(i for i, line in enumerate(lines) if line.startswith(b"- ["))
    rules.write_bytes(b"\r".join(lines[:nav] + lines[nav + 1:]))  # a stale navigation
    monkeypatch.chdir(root)
    assert main(["sync", "--check"]) == 1
    assert main(["sync"]) == 0
    only_cr(root)
    assert rules.read_bytes() == before  # the navigation item is back, ended by a CR
    assert main(["lint"]) == 0


def test_add_and_renumber_keep_a_cr_file_cr(tmp_path: Path, monkeypatch) -> None:
    root = cr_registry(tmp_path)
    monkeypatch.chdir(root)
    assert main(["add", "BR", "--title", "Late fees"]) == 0
    only_cr(root)
    assert main(["renumber", "BR-101", "--to", "BR-150"]) == 0
    only_cr(root)
    assert b"## BR-150: " in (root / "SoT" / "SoT.BUSINESS_RULES.md").read_bytes()
