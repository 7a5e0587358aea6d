"""Output formats: golden files plus format-specific checks.

Regenerate the golden files with `SOTB_UPDATE_GOLDEN=1 pytest tests/output`.
"""

from __future__ import annotations

import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest

from sot_builder.diagnostics import Diagnostic, Severity, SotbError
from sot_builder.output import FORMATS, render
from sot_builder.output.github import annotation
from sot_builder.output.json import KEYS
from sot_builder.output.sarif import FINGERPRINT_KEY, sarif_log
from sot_builder.paths import schemas_dir
from sot_builder.rules.base import Rule

GOLDEN = Path(__file__).parent / "golden"
ESC = "\x1b"


def _no_check(project: object) -> Iterator[Diagnostic]:
    return iter(())


DUPLICATE = Rule(
    "SOT101",
    "duplicate-id",
    Severity.ERROR,
    "Every ID is defined once.",
    "Two headings with one ID make references ambiguous.\n\n"
    "Bad:\n\n```markdown\n## PIC-001: A\n## PIC-001: B\n```\n\n"
    "Good:\n\n```markdown\n## PIC-001: A\n## PIC-002: B\n```",
    _no_check,
)
DANGLING = Rule(
    "SOT201",
    "dangling-reference",
    Severity.ERROR,
    "References point at defined IDs.",
    "A link to an ID that no file defines is a broken promise.",
    _no_check,
)
STATUS = Rule(
    "SOT301",
    "unknown-status",
    Severity.WARNING,
    "Status is one of the registered values.",
    "Free-form status values cannot be filtered.",
    _no_check,
)
STYLE = Rule("SOT601", "title-case", Severity.INFO, "Titles use title case.", "", _no_check)
RULES = (DUPLICATE, DANGLING, STATUS, STYLE)

# Sorted as the engine hands them over; covers every severity, a fix hint, IDs,
# characters that need escaping, a repeated problem and a code without a Rule.
DIAGNOSTICS = (
    Diagnostic(
        "SOT001",
        "cannot parse front matter: expected ':' in line 2",
        "SoT/SoT.BROKEN.md",
        2,
        1,
        Severity.ERROR,
        name="load-error",
    ),
    Diagnostic(
        "SOT101",
        "PIC-001 is defined twice (first at line 3)",
        "SoT/SoT.PAYMENTS.md",
        12,
        4,
        Severity.ERROR,
        ids=("PIC-001",),
        name="duplicate-id",
        fix="rename one of them, e.g. PIC-002",
    ),
    Diagnostic(
        "SOT301",
        'Status "50% done, <blocked> & late" is not one of: Active, Deprecated\nsecond line',
        "SoT/SoT.PAYMENTS.md",
        14,
        1,
        Severity.WARNING,
        ids=("PIC-001",),
        name="unknown-status",
    ),
    Diagnostic(
        "SOT201",
        "API-045 is not defined",
        "SoT/SoT.README.md",
        7,
        22,
        Severity.ERROR,
        ids=("API-045",),
        name="dangling-reference",
    ),
    Diagnostic(
        "SOT201",
        "API-045 is not defined",
        "SoT/SoT.README.md",
        9,
        3,
        Severity.ERROR,
        ids=("API-045",),
        name="dangling-reference",
    ),
    Diagnostic(
        "SOT601",
        "title 'stripe payment' is not in title case",
        "SoT/sub dir/SoT.a,b:c.md",
        1,
        1,
        Severity.INFO,
        ids=("PIC-009",),
        name="title-case",
    ),
)

CASES = {
    "text.txt": ("text", DIAGNOSTICS),
    "text-clean.txt": ("text", ()),
    "json.json": ("json", DIAGNOSTICS),
    "json-clean.json": ("json", ()),
    "github.txt": ("github", DIAGNOSTICS),
    "github-clean.txt": ("github", ()),
    "sarif.sarif": ("sarif", DIAGNOSTICS),
    "sarif-clean.sarif": ("sarif", ()),
    "junit.xml": ("junit", DIAGNOSTICS),
    "junit-clean.xml": ("junit", ()),
}


def out(fmt: str, diagnostics: tuple[Diagnostic, ...] = DIAGNOSTICS, **kw: object) -> str:
    kw.setdefault("files_checked", 12)
    kw.setdefault("tool_version", "9.9.9")
    return render(fmt, diagnostics, RULES, **kw)  # type: ignore[arg-type]


# --- golden files ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    fmt, diagnostics = CASES[name]
    actual = out(fmt, diagnostics)
    path = GOLDEN / name
    if os.environ.get("SOTB_UPDATE_GOLDEN") == "1":
        path.write_bytes(actual.encode("utf-8"))
    assert path.is_file(), f"missing {path}; run with SOTB_UPDATE_GOLDEN=1"
    assert actual == path.read_bytes().decode("utf-8")


def test_every_format_has_golden_files() -> None:
    assert {fmt for fmt, _ in CASES.values()} == set(FORMATS)


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(SotbError, match="unknown output format 'xml'"):
        render("xml", DIAGNOSTICS, RULES)


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_ends_with_one_newline(fmt: str) -> None:
    text = out(fmt)
    assert text.endswith("\n") and not text.endswith("\n\n")


# --- text -----------------------------------------------------------------------


def test_text_lines_and_summary() -> None:
    lines = out("text").splitlines()
    assert len(lines) == len(DIAGNOSTICS) + 1
    assert lines[1] == (
        "SoT/SoT.PAYMENTS.md:12:4: SOT101 [error] PIC-001 is defined twice (first at line 3)"
        " (fix: rename one of them, e.g. PIC-002)"
    )
    assert lines[-1] == "Found 4 errors, 1 warning and 1 info message in 12 files."


def test_text_summary_wording() -> None:
    one_warning = (DIAGNOSTICS[2],)
    assert out("text", one_warning, files_checked=1).splitlines()[-1] == (
        "Found 1 warning in 1 file."
    )
    assert out("text", (), files_checked=1) == "All checks passed (1 file).\n"
    assert out("text", DIAGNOSTICS[:2]).splitlines()[-1] == "Found 2 errors in 12 files."


def test_text_without_color_is_plain_ascii() -> None:
    text = out("text")
    assert ESC not in text
    assert text.isascii()
    assert ESC not in out("text", ())


def test_text_with_color_uses_ansi() -> None:
    colored = out("text", color=True)
    assert ESC + "[" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == out("text")
    assert ESC + "[32m" in out("text", (), color=True)


def test_text_neutralises_control_characters_from_files() -> None:
    hostile = Diagnostic("SOT301", "bad \x1b[2J title\r\nnext\x07", "SoT/x.md", 3)
    text = out("text", (hostile,))
    assert ESC not in text and "\x07" not in text and "\r" not in text
    assert text.splitlines()[0] == "SoT/x.md:3:1: SOT301 [error] bad \\x1b[2J title next\\x07"


# --- json -----------------------------------------------------------------------


def test_one_line_is_the_text_with_breaks_folded_and_controls_escaped() -> None:
    """Printable text is given back as it is; the rest goes through both substitutions."""
    from sot_builder.output.text import _CONTROL, _NEWLINES, one_line, visible

    def escaped(value: str) -> str:
        return _CONTROL.sub(lambda m: repr(m.group())[1:-1], value)

    samples = [chr(c) for c in range(0x3000)] + ["plain text", "a\tb", "a\r\nb\rc\nd", "x\x1b[31my",
                                                 "nbsp\xa0here", "line\u2028sep", "del\x7f", ""]
    for value in samples:
        assert one_line(value) == escaped(_NEWLINES.sub(" ", value)), repr(value)
        assert visible(value) == escaped(value), repr(value)


def test_json_has_exactly_the_contract_keys_in_order() -> None:
    data = json.loads(out("json"))
    assert KEYS == ("code", "severity", "path", "line", "column", "message", "ids")
    assert len(data) == len(DIAGNOSTICS)
    for item, diag in zip(data, DIAGNOSTICS):
        assert tuple(item) == KEYS
        assert item == {
            "code": diag.code,
            "severity": diag.severity.value,
            "path": diag.path,
            "line": diag.line,
            "column": diag.column,
            "message": diag.message,
            "ids": list(diag.ids),
        }


def test_json_clean_is_empty_array() -> None:
    assert json.loads(out("json", ())) == []


# --- github ---------------------------------------------------------------------

ANNOTATION = re.compile(r"^::(error|warning|notice) (?P<props>[^:]*)::(?P<data>.*)$")


def parse_annotation(line: str) -> tuple[str, dict[str, str], str]:
    m = ANNOTATION.match(line)
    assert m, line
    props = dict(p.split("=", 1) for p in m["props"].split(","))
    return m.group(1), props, m["data"]


def unescape(value: str) -> str:
    for code, char in (("%3A", ":"), ("%2C", ","), ("%0A", "\n"), ("%0D", "\r"), ("%25", "%")):
        value = value.replace(code, char)
    return value


def test_github_annotations_carry_file_line_and_kind() -> None:
    lines = out("github").splitlines()
    kinds = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}
    for line, diag in zip(lines, DIAGNOSTICS):
        kind, props, data = parse_annotation(line)
        assert kind == kinds[diag.severity]
        assert list(props) == ["file", "line", "col", "title"]
        assert unescape(props["file"]) == diag.path
        assert props["line"] == str(diag.line)
        assert props["col"] == str(diag.column)
        assert props["title"] == diag.code
        assert unescape(data).startswith(diag.message)
    assert lines[-1] == "Found 4 errors, 1 warning and 1 info message in 12 files."


def test_github_escapes_percent_newlines_and_property_separators() -> None:
    diag = Diagnostic("SOT301", "100% a,b: c\r\nd", "SoT/a,b:c%.md", 5, 2, Severity.WARNING)
    line = annotation(diag)
    assert "\n" not in line and "\r" not in line
    assert line == (
        "::warning file=SoT/a%2Cb%3Ac%25.md,line=5,col=2,title=SOT301::100%25 a,b: c%0D%0Ad"
    )


def test_github_summary_warns_when_annotations_are_capped() -> None:
    many = tuple(
        Diagnostic("SOT201", f"X-{i:03} is not defined", "SoT/a.md", i) for i in range(1, 12)
    )
    last = out("github", many).splitlines()[-1]
    assert last.startswith("Found 11 errors in 12 files.")
    assert "first 10" in last
    assert "first 10" not in out("github", many[:10]).splitlines()[-1]


# --- sarif ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    schema = json.loads((schemas_dir() / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_shipped_schema_is_the_sarif_2_1_0_schema(sarif_validator: Any) -> None:
    schema = sarif_validator.schema
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    assert "result" in schema["definitions"] and "reportingDescriptor" in schema["definitions"]


@pytest.mark.parametrize("diagnostics", [DIAGNOSTICS, ()], ids=["problems", "clean"])
def test_sarif_validates_against_schema(
    sarif_validator: Any, diagnostics: tuple[Diagnostic, ...]
) -> None:
    log = json.loads(out("sarif", diagnostics))
    errors = sorted(sarif_validator.iter_errors(log), key=str)
    assert not errors, errors[0]


def test_sarif_validator_rejects_a_broken_log(sarif_validator: Any) -> None:
    log = json.loads(out("sarif"))
    log["runs"][0]["results"][0]["level"] = "fatal"
    assert not sarif_validator.is_valid(log)


def test_sarif_rules_and_results_agree() -> None:
    log = json.loads(out("sarif"))
    run = log["runs"][0]
    driver = run["tool"]["driver"]
    assert driver["name"] == "sotb" and driver["version"] == "9.9.9"
    ids = [r["id"] for r in driver["rules"]]
    assert ids[: len(RULES)] == [r.code for r in RULES]
    assert len(ids) == len(set(ids))
    assert "SOT001" in ids  # a code without a Rule still gets a descriptor
    assert len(run["results"]) == len(DIAGNOSTICS)
    for res, diag in zip(run["results"], DIAGNOSTICS):
        assert res["ruleId"] == diag.code
        assert ids[res["ruleIndex"]] == res["ruleId"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["region"] == {"startLine": diag.line, "startColumn": diag.column}
    levels = {r["ruleId"]: r["level"] for r in run["results"]}
    assert levels["SOT301"] == "warning" and levels["SOT601"] == "note"


def test_sarif_rule_metadata_comes_from_the_rule() -> None:
    rules = {r["id"]: r for r in sarif_log((), RULES)["runs"][0]["tool"]["driver"]["rules"]}
    dup = rules["SOT101"]
    assert dup["name"] == "duplicate-id"
    assert dup["shortDescription"]["text"] == DUPLICATE.summary
    assert dup["fullDescription"]["text"] == "Two headings with one ID make references ambiguous."
    assert dup["help"]["markdown"] == DUPLICATE.doc
    assert dup["helpUri"] == DUPLICATE.help_uri
    assert dup["defaultConfiguration"]["level"] == "error"
    assert rules["SOT601"]["help"]["text"] == STYLE.summary  # empty doc falls back


def test_sarif_uri_is_percent_encoded() -> None:
    res = sarif_log(DIAGNOSTICS, RULES)["runs"][0]["results"][-1]
    uri = res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "SoT/sub%20dir/SoT.a%2Cb%3Ac.md"


def fingerprints(diagnostics: tuple[Diagnostic, ...]) -> list[str]:
    results = sarif_log(diagnostics, RULES)["runs"][0]["results"]
    return [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]


def test_sarif_fingerprint_ignores_line_but_not_content() -> None:
    diag = DIAGNOSTICS[1]
    moved = Diagnostic(diag.code, diag.message, diag.path, diag.line + 40, 1, ids=diag.ids)
    assert fingerprints((diag,)) == fingerprints((moved,))
    other = Diagnostic(diag.code, diag.message + "!", diag.path, diag.line, ids=diag.ids)
    elsewhere = Diagnostic(diag.code, diag.message, "SoT/other.md", diag.line, ids=diag.ids)
    other_ids = Diagnostic(diag.code, diag.message, diag.path, diag.line, ids=("PIC-002",))
    prints = {fingerprints((d,))[0] for d in (diag, other, elsewhere, other_ids)}
    assert len(prints) == 4


def test_sarif_identical_problems_get_distinct_fingerprints() -> None:
    prints = fingerprints(DIAGNOSTICS)
    assert len(set(prints)) == len(prints)
    assert prints[3].rsplit(":", 1)[0] == prints[4].rsplit(":", 1)[0]


# --- junit ----------------------------------------------------------------------


def test_junit_counts_failures() -> None:
    root = ET.fromstring(out("junit").encode("utf-8"))
    assert root.tag == "testsuites"
    failures = root.findall(".//testcase/failure")
    assert len(failures) == len(DIAGNOSTICS)
    assert root.get("failures") == str(len(DIAGNOSTICS))
    assert root.get("tests") == str(len(root.findall(".//testcase")))
    for suite in root.findall("testsuite"):
        assert suite.get("tests") == str(len(suite.findall("testcase")))
        assert suite.get("failures") == str(len(suite.findall("testcase/failure")))
    paths = [s.get("name") for s in root.findall("testsuite")]
    assert paths == list(dict.fromkeys(d.path for d in DIAGNOSTICS))


def test_junit_testcases_name_file_line_and_class() -> None:
    root = ET.fromstring(out("junit").encode("utf-8"))
    case = root.findall(".//testcase")[1]
    assert case.get("name") == "SOT101 duplicate-id at line 12, column 4"
    assert case.get("classname") == "SoT/SoT.PAYMENTS"
    assert case.get("file") == "SoT/SoT.PAYMENTS.md" and case.get("line") == "12"
    assert case.findall("failure")[0].get("type") == "SOT101"


def test_junit_escapes_markup_in_messages() -> None:
    root = ET.fromstring(out("junit").encode("utf-8"))
    messages = [f.get("message") for f in root.iter("failure")]
    assert messages[2] == DIAGNOSTICS[2].message  # <, >, &, quotes and newline survive


def test_junit_clean_run_has_one_passing_testcase() -> None:
    root = ET.fromstring(out("junit", ()).encode("utf-8"))
    cases = root.findall(".//testcase")
    assert len(cases) == 1 and not cases[0].findall("failure")
    assert root.get("tests") == "1" and root.get("failures") == "0"


def test_junit_survives_characters_xml_cannot_hold() -> None:
    hostile = Diagnostic("SOT301", "nul\x00 esc\x1b bell\x07 ok", "SoT/\x01.md", 2)
    root = ET.fromstring(out("junit", (hostile,)).encode("utf-8"))
    [failure] = root.iter("failure")
    assert failure.get("message") == "nul\\x00 esc\\x1b bell\\x07 ok"
    assert failure.text == "SoT/\\x01.md:2:1: SOT301 [error] nul\\x00 esc\\x1b bell\\x07 ok"
