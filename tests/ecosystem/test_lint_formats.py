"""Report formats on a real `sotb lint` run: SARIF against the schema, GitHub annotations."""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from sot_builder.cli import main
from sot_builder.paths import schemas_dir
from sot_builder.rules import all_rules

SOTB_TOML = """root = "SoT"
select = ["SOT005", "SOT1", "SOT201", "SOT203", "SOT302"]

[types.PIC]
file = "SoT.PARTNERS.md"
categories = [{ name = "Payment providers", first = 1, last = 99 }]
fields = [{ name = "Status", kind = "enum", values = ["Active", "Expired"] }]
"""
PARTNERS = """# Partners

## PIC-001: Stripe

**Status**: Done

- Falls back to [PIC-002](#pic-002)
- Replaced PIC-009 in 2024

<!-- sotb-disable-next-line SOT201 -->
Nothing wrong here.

## PIC-001: Adyen

## PIC-120: Twilio
"""
# (line, column, code) of every problem in PARTNERS, in report order
EXPECTED = [
    (3, 4, "SOT101"),
    (5, 1, "SOT302"),
    (7, 17, "SOT201"),
    (7, 17, "SOT203"),
    (8, 12, "SOT201"),
    (10, 1, "SOT005"),
    (13, 4, "SOT101"),
    (15, 4, "SOT103"),
]
FILE = "product/SoT/SoT.PARTNERS.md"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout whose sotb project lives in `product/`; lint runs from the checkout root."""
    project = tmp_path / "product"
    (project / "SoT").mkdir(parents=True)
    (project / "sotb.toml").write_text(SOTB_TOML)
    (project / "SoT" / "SoT.PARTNERS.md").write_text(PARTNERS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    return tmp_path


def lint(capsys: pytest.CaptureFixture[str], fmt: str, *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["lint", "--no-cache", "--format", fmt, *args])
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    return code, captured.out


def test_problem_positions_point_at_the_text(repo: Path, capsys) -> None:
    code, out = lint(capsys, "json", "product")
    found = [(d["path"], d["line"], d["column"], d["code"]) for d in json.loads(out)]
    assert found == [(FILE, line, col, code) for line, col, code in EXPECTED]
    lines = PARTNERS.splitlines()
    assert lines[7 - 1][17 - 1:].startswith("[PIC-002]")
    assert lines[8 - 1][12 - 1:].startswith("PIC-009")
    assert code == 1


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    schema = json.loads((schemas_dir() / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_sarif_of_a_real_run_validates_and_describes_every_rule(repo: Path, capsys, sarif_validator) -> None:
    code, out = lint(capsys, "sarif", "product")
    log = json.loads(out)
    errors = sorted(sarif_validator.iter_errors(log), key=str)
    assert not errors, errors[0]
    run = log["runs"][0]
    descriptors = run["tool"]["driver"]["rules"]
    ids = [d["id"] for d in descriptors]
    assert ids == [r.code for r in all_rules()]
    for d in descriptors:
        assert d["shortDescription"]["text"]
        assert re.fullmatch(r"https://\S+/docs/rules\.md#sot\d{3}-[a-z0-9-]+", d["helpUri"])
    results = run["results"]
    assert [r["ruleId"] for r in results] == [c for _, _, c in EXPECTED]
    for res, (line, col, rule_id) in zip(results, EXPECTED):
        assert ids[res["ruleIndex"]] == rule_id
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] == FILE
        assert loc["region"] == {"startLine": line, "startColumn": col}
    assert code == 1


def test_sarif_of_a_clean_run_validates(repo: Path, capsys, sarif_validator) -> None:
    (repo / "product" / "SoT" / "SoT.PARTNERS.md").write_text("# Partners\n\n## PIC-001: Stripe\n")
    code, out = lint(capsys, "sarif", "product")
    log = json.loads(out)
    assert sarif_validator.is_valid(log)
    assert log["runs"][0]["results"] == [] and code == 0


ANNOTATION = re.compile(r"^::(error|warning|notice) file=([^,]+),line=(\d+),col=(\d+),title=(SOT\d{3})::(.+)$")


def annotations(out: str) -> list[tuple[str, str, int, int, str]]:
    found = []
    for line in out.splitlines():
        m = ANNOTATION.match(line)
        if m:
            found.append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), m.group(5)))
    return found


def test_github_annotations_carry_file_and_line(repo: Path, capsys) -> None:
    code, out = lint(capsys, "github", "product")
    kinds = {"SOT005": "warning"}
    assert annotations(out) == [(kinds.get(c, "error"), FILE, line, col, c) for line, col, c in EXPECTED]
    assert out.splitlines()[-1] == "Found 7 errors and 1 warning in 1 file."
    assert code == 1


def test_github_paths_are_relative_to_the_workspace(repo: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(repo / "product" / "SoT")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(repo))
    _, out = lint(capsys, "github", "..")
    assert {a[1] for a in annotations(out)} == {FILE}
    _, out = lint(capsys, "sarif", "..")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(out)["runs"][0]["results"]}
    assert uris == {FILE}
    _, out = lint(capsys, "text", "..")  # people read text output from where they are
    assert out.splitlines()[0].startswith("SoT.PARTNERS.md:3:4: SOT101")


def test_junit_of_a_real_run(repo: Path, capsys) -> None:
    code, out = lint(capsys, "junit", "product")
    root = ET.fromstring(out.encode("utf-8"))
    cases = root.findall(".//testcase")
    assert [(c.get("file"), c.get("line")) for c in cases] == [(FILE, str(line)) for line, _, _ in EXPECTED]
    assert root.get("failures") == str(len(EXPECTED)) and code == 1


def test_report_to_a_file(repo: Path, capsys) -> None:
    code, out = lint(capsys, "sarif", "product", "-o", "sotb.sarif")
    assert out == "" and code == 1
    log = json.loads((repo / "sotb.sarif").read_text(encoding="utf-8"))
    assert len(log["runs"][0]["results"]) == len(EXPECTED)


@pytest.mark.parametrize("terminal, no_color, colored", [
    (False, None, False), (True, None, True), (True, "1", False),
])
def test_color_only_on_a_terminal_without_no_color(repo: Path, capsys, monkeypatch, terminal: bool,
                                                   no_color: str | None, colored: bool) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("TERM", raising=False)
    if no_color is not None:
        monkeypatch.setenv("NO_COLOR", no_color)
    capsys.readouterr()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    _, out = lint(capsys, "text", "product")
    assert ("\x1b[" in out) is colored
    _, out = lint(capsys, "text", "product", "-o", "report.txt")
    assert "\x1b" not in (repo / "report.txt").read_text(encoding="utf-8")
