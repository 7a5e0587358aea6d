"""Hostile SoT files: each ends in a problem line with file and line, never a traceback or a hang.

Every case replaces the PIC file of a small clean registry with hostile bytes,
runs `sotb lint --strict --format json` in-process (warnings count, so a case
exits 1), checks the problem the file should produce, then runs `sotb sync`
and checks that a file sotb could not read is left byte for byte as it was.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from ._support import (
    ENTRY,
    PIC_FILE,
    assert_clean_exit,
    make_project,
    pic_file,
    problem_at,
    run_inprocess,
)

DANGLING = "**Related**: [PIC-404](#pic-404-missing)\n"  # SOT201 on the line it sits on

LAUGHS = "".join(
    f"{name}: &{name} [{', '.join([prev] * 9)}]\n"
    for name, prev in zip("bcdefghi", ["*a", "*b", "*c", "*d", "*e", "*f", "*g", "*h"])
)
BILLION_LAUGHS = (
    "---\n"
    'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + LAUGHS
    + "last_updated: *i\nid_prefix: *i\npurpose: *i\n---\n"
)


@dataclass(frozen=True)
class Case:
    name: str
    data: bytes
    code: str  # the problem the PIC file must report
    line: int
    readable: bool = True  # False: sotb cannot parse it, so sync must not write it


def _lines_before(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


def _nul_line(data: bytes) -> int:
    return data[: data.index(b"\0")].count(b"\n") + 1


def _utf8(text: str) -> bytes:
    return text.encode("utf-8")


def _dangling_after(head: str = "", body_before: str = "") -> tuple[bytes, int]:
    text = pic_file(ENTRY + body_before + DANGLING, head)
    return _utf8(text), _lines_before(text, DANGLING)


def _cases() -> list[Case]:
    cases = []

    # -- frontmatter -----------------------------------------------------------
    text = pic_file(ENTRY, "---\nversion: 1.0\npurpose: [unclosed\n---\n")
    cases.append(Case("yaml-syntax-error", _utf8(text), "SOT001", 4))
    cases.append(
        Case("yaml-not-a-mapping", _utf8(pic_file(ENTRY, "---\n- a\n- b\n---\n")), "SOT001", 2)
    )
    cases.append(Case("yaml-billion-laughs", _utf8(pic_file(ENTRY, BILLION_LAUGHS)), "SOT001", 2))
    cases.append(
        Case(
            "yaml-recursive-alias",
            _utf8(pic_file(ENTRY, "---\na: &a [*a]\nlast_updated: *a\n---\n")),
            "SOT001",
            2,
        )
    )
    cases.append(
        Case(
            "yaml-recursive-mapping",
            _utf8(pic_file(ENTRY, "---\na: &a {b: *a}\npurpose: *a\n---\n")),
            "SOT001",
            2,
        )
    )
    huge = "---\n" + "".join(f"key{i}: value {i}\n" for i in range(5000)) + "---\n"
    cases.append(Case("yaml-5000-lines", _utf8(pic_file(ENTRY, huge)), "SOT001", 1))
    cases.append(
        Case(
            "yaml-huge-integer",
            _utf8(pic_file(ENTRY, f"---\nversion: {'9' * 5000}\n---\n")),
            "SOT001",
            2,
        )
    )
    deep = "---\nkey: " + "[" * 3000 + "]" * 3000 + "\n---\n"
    cases.append(Case("yaml-deep-nesting", _utf8(pic_file(ENTRY, deep)), "SOT001", 2))
    cases.append(Case("yaml-unclosed", _utf8("---\ntitle: x\n" + pic_file(ENTRY)), "SOT001", 1))
    cases.append(
        Case(
            "yaml-python-tag",
            _utf8(pic_file(ENTRY, "---\nx: !!python/object/apply:os.system ['false']\n---\n")),
            "SOT001",
            2,
        )
    )

    # -- encodings and line endings ----------------------------------------------
    text = pic_file(ENTRY + "\nCafé opening hours\n")
    latin1 = text.encode("latin-1")
    cases.append(
        Case("latin-1", latin1, "SOT002", text.count("\n", 0, text.index("é")) + 1, readable=False)
    )
    data, line = _dangling_after()
    cases.append(
        Case(
            "utf-16-with-bom", data.decode("utf-8").encode("utf-16"), "SOT201", line, readable=False
        )
    )
    cases.append(
        Case(
            "utf-16-without-bom",
            data.decode("utf-8").encode("utf-16-le"),
            "SOT002",
            1,
            readable=False,
        )
    )
    cases.append(Case("utf-8-bom", b"\xef\xbb\xbf" + data, "SOT201", line))
    cases.append(Case("crlf", data.replace(b"\n", b"\r\n"), "SOT201", line))
    mixed = b"".join(
        ln + (b"\r\n" if i % 2 else b"\n") for i, ln in enumerate(data.split(b"\n")[:-1])
    )
    cases.append(Case("mixed-line-endings", mixed, "SOT201", line))
    cases.append(
        Case(
            "bom-crlf-trailing-spaces",
            b"\xef\xbb\xbf" + data.replace(b"\n", b"  \r\n"),
            "SOT201",
            line,
        )
    )
    cases.append(Case("no-final-newline", data.rstrip(b"\n"), "SOT201", line))
    cases.append(
        Case(
            "nul-byte",
            data.replace(b"**Partner**", b"**Part\x00ner**"),
            "SOT002",
            _lines_before(data.decode(), "**Partner**"),
            readable=False,
        )
    )

    # -- binary ------------------------------------------------------------------
    rng = random.Random(9)
    noise = bytes(rng.randrange(256) for _ in range(50_000))
    cases.append(Case("binary-random", noise, "SOT002", _nul_line(noise), readable=False))
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(rng.randrange(256) for _ in range(2000))
    cases.append(Case("binary-png", png, "SOT002", 3, readable=False))
    no_nul = bytes(rng.randrange(128, 256) for _ in range(5000))  # not UTF-8, no NUL
    cases.append(Case("binary-high-bytes", no_nul, "SOT002", 1, readable=False))

    # -- size and shape ----------------------------------------------------------
    link = "[Stripe](#pic-001-stripe-payment-processing) "
    data, line = _dangling_after(body_before="\n" + link * (3_000_000 // len(link)) + "PIC-404\n\n")
    cases.append(Case("3mb-line-of-links", data, "SOT201", line - 2))
    data, line = _dangling_after(body_before="\n" + "PIC-001 " * 125_000 + "PIC-404\n\n")
    cases.append(Case("1mb-line-of-ids", data, "SOT201", line - 2))
    data, line = _dangling_after(body_before="\n" + "word " * 200_000 + "\n\n")
    cases.append(Case("1mb-line-of-words", data, "SOT201", line))
    brackets = "[" * 1_000_000 + "](" * 500_000 + "`" * 500_000 + "**" * 250_000
    data, line = _dangling_after(body_before="\n" + brackets + "\n\n")
    cases.append(Case("3mb-line-of-brackets", data, "SOT201", line))
    headings = "".join(f"## Section {i}\n" for i in range(100_000))
    text = pic_file(ENTRY + "\n" + headings + "\n## PIC-002: Last\n\n" + DANGLING)
    cases.append(Case("100k-headings", _utf8(text), "SOT201", _lines_before(text, DANGLING)))
    lists = "".join("  " * i + f"- level {i}\n" for i in range(1000))
    quotes = "".join("> " * i + f"quote {i}\n" for i in range(1, 1000))
    mixed_nest = "> " * 500 + "- " * 500 + "1. " * 500 + "deep\n"
    data, line = _dangling_after(
        body_before="\n" + lists + "\n" + quotes + "\n" + mixed_nest + "\n"
    )
    cases.append(Case("deep-nesting", data, "SOT201", line))

    # -- unterminated blocks -------------------------------------------------------
    text = pic_file(ENTRY + "\n```sql\nSELECT 1;\n## PIC-002: Hidden\n")
    cases.append(Case("unterminated-fence", _utf8(text), "SOT003", _lines_before(text, "```sql")))
    text = pic_file(ENTRY + "\n<!-- a comment that never ends\n## PIC-002: Hidden\n")
    cases.append(
        Case("unterminated-comment", _utf8(text), "SOT003", _lines_before(text, "<!-- a comment"))
    )
    text = pic_file(ENTRY + "\n<!-- sotb:begin navigation -->\n- stray\n")
    cases.append(
        Case(
            "unterminated-region",
            _utf8(text),
            "SOT004",
            _lines_before(text, "<!-- sotb:begin navigation -->\n- stray"),
        )
    )
    text = pic_file(ENTRY + "\n<!-- sotb:end orphan -->\n")
    cases.append(
        Case(
            "orphan-region-end", _utf8(text), "SOT004", _lines_before(text, "<!-- sotb:end orphan")
        )
    )

    # -- IDs -------------------------------------------------------------------------
    digits = "1" * 5000
    text = pic_file(
        ENTRY + f"\n## PIC-{digits}: Huge\n\n**Related**: [PIC-{digits}](#pic-{digits}-nope)\n"
    )
    cases.append(
        Case(
            "id-with-5000-digits", _utf8(text), "SOT203", _lines_before(text, "**Related**: [PIC-1")
        )
    )
    return cases


CASES = _cases()


@pytest.fixture
def hostile_project(tmp_path, monkeypatch):
    def make(data: bytes):
        root = make_project(tmp_path / "project", {PIC_FILE: data})
        monkeypatch.chdir(root)
        return root

    return make


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_file_gives_a_problem_line(case: Case, hostile_project, capsys):
    root = hostile_project(case.data)
    result = run_inprocess(capsys, "lint", "--strict", "--format", "json")
    assert_clean_exit(result, (1,))
    problem_at(result, PIC_FILE, case.code, case.line)

    # the same problem in the text format: `path:line:col: CODE [severity] message`
    text = run_inprocess(capsys, "lint", "--strict", "--select", case.code)
    assert_clean_exit(text, (1,))
    assert any(
        line.startswith(f"{PIC_FILE}:{case.line}:") and f" {case.code} " in line
        for line in text.out.splitlines()
    ), text.out[:2000]

    before = (root / PIC_FILE).read_bytes()
    synced = run_inprocess(capsys, "sync")
    assert_clean_exit(synced, (0, 1, 2))
    if not case.readable:
        assert (root / PIC_FILE).read_bytes() == before
    # whatever sync did, the file still reports its problem and nothing crashes
    again = run_inprocess(capsys, "lint", "--no-cache", "--strict", "--format", "json")
    assert_clean_exit(again, (1,))
    problem_at(again, PIC_FILE, case.code)
