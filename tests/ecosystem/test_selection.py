"""Rule selection: select/ignore by code, prefix or name; severities; per-path ignores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sot_builder.cli import main
from sot_builder.config import DEFAULTS
from sot_builder.diagnostics import Severity, SotbError
from sot_builder.engine import active_rules
from sot_builder.rules import all_rules


def codes(values: dict, select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> set[str]:
    return {r.code for r in active_rules({**DEFAULTS, **values}, select, ignore)}


ALL = {r.code for r in all_rules()}


def test_defaults_run_every_rule() -> None:
    assert codes({}) == ALL


def test_select_by_code_prefix_and_name() -> None:
    assert codes({"select": ["SOT201"]}) == {"SOT201"}
    assert codes({"select": ["SOT20"]}) == {c for c in ALL if c.startswith("SOT20")}
    assert codes({"select": ["duplicate-id", "sot3"]}) == {"SOT101"} | {c for c in ALL if c.startswith("SOT3")}


def test_ignore_by_code_prefix_and_name() -> None:
    assert codes({"ignore": ["SOT2"]}) == {c for c in ALL if not c.startswith("SOT2")}
    assert codes({"ignore": ["undefined-id"]}) == ALL - {"SOT201"}


def test_the_more_specific_selector_wins() -> None:
    sot2 = {c for c in ALL if c.startswith("SOT2")}
    assert codes({"select": ["SOT2"], "ignore": ["SOT201"]}) == sot2 - {"SOT201"}
    assert codes({"select": ["SOT201"], "ignore": ["SOT2"]}) == {"SOT201"}
    assert codes({"select": ["SOT201"], "ignore": ["SOT201"]}) == set()
    assert codes({"ignore": ["ALL"], "select": ["SOT1"]}) == {c for c in ALL if c.startswith("SOT1")}


def test_command_line_select_replaces_the_configured_one_and_ignore_adds() -> None:
    configured = {"select": ["SOT1"], "ignore": ["SOT102"]}
    assert codes(configured, select=("SOT201",)) == {"SOT201"}
    assert codes(configured, ignore=("SOT101",)) == {c for c in ALL if c.startswith("SOT1")} - {"SOT101", "SOT102"}


@pytest.mark.parametrize("key", ["select", "ignore"])
def test_unknown_selectors_are_errors(key: str) -> None:
    with pytest.raises(SotbError, match="unknown rule selector 'SOT999'"):
        codes({key: ["SOT999"]})


def test_unknown_selectors_in_severity_and_per_path_ignores_are_errors() -> None:
    with pytest.raises(SotbError, match="severity"):
        codes({"severity": {"no-such-rule": "off"}})
    with pytest.raises(SotbError, match="per_path_ignores"):
        codes({"per_path_ignores": {"SoT/*.md": ["SOT9"]}})


def test_severity_overrides_most_specific_first() -> None:
    rules = {r.code: r for r in active_rules({**DEFAULTS, "severity": {
        "SOT201": "info", "SOT2": "warning", "duplicate-id": "off"}})}
    assert "SOT101" not in rules
    assert rules["SOT201"].severity == Severity.INFO
    assert rules["SOT202"].severity == Severity.WARNING
    assert rules["SOT301"].severity == Severity.ERROR


REGISTRY = """# Business Rules

## BR-001: Refund window

- Uses API-099, which is undefined
- [runbook](missing.md) - missing file
"""


def lint_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
              config: str, *args: str) -> tuple[int, list[dict]]:
    (tmp_path / "SoT").mkdir(exist_ok=True)
    (tmp_path / "SoT" / "SoT.BUSINESS_RULES.md").write_text(REGISTRY)
    (tmp_path / "SoT" / "SoT.LEGACY.md").write_text("# Legacy\n\nReplaced API-098.\n")
    (tmp_path / "sotb.toml").write_text('root = "SoT"\n' + config + '\n[types.BR]\n[types.API]\n')
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["lint", "--no-cache", "--format", "json", *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def found(diags: list[dict]) -> list[tuple[str, str, str]]:
    return sorted((d["path"], d["code"], d["severity"]) for d in diags)


def test_lint_applies_select_severity_and_per_path_ignores(tmp_path, monkeypatch, capsys) -> None:
    config = (
        'select = ["SOT2"]\n'
        '[severity]\n"SOT202" = "warning"\n'
        '[per_path_ignores]\n"SoT/SoT.LEGACY.md" = ["undefined-id"]\n'
    )
    code, diags = lint_json(tmp_path, monkeypatch, capsys, config)
    assert found(diags) == [
        ("SoT/SoT.BUSINESS_RULES.md", "SOT201", "error"),
        ("SoT/SoT.BUSINESS_RULES.md", "SOT202", "warning"),
    ]
    assert code == 1


def test_warnings_alone_pass_unless_strict(tmp_path, monkeypatch, capsys) -> None:
    config = 'select = ["SOT202"]\n[severity]\n"SOT202" = "warning"\n'
    code, diags = lint_json(tmp_path, monkeypatch, capsys, config)
    assert [d["code"] for d in diags] == ["SOT202"] and code == 0
    code, _ = lint_json(tmp_path, monkeypatch, capsys, config, "--strict")
    assert code == 1


def test_lint_command_line_selection(tmp_path, monkeypatch, capsys) -> None:
    _, diags = lint_json(tmp_path, monkeypatch, capsys, 'select = ["SOT201"]\n', "--select", "SOT202")
    assert found(diags) == [("SoT/SoT.BUSINESS_RULES.md", "SOT202", "error")]
    _, diags = lint_json(tmp_path, monkeypatch, capsys, 'select = ["SOT2"]\n', "--ignore", "SOT201")
    assert {d["code"] for d in diags} == {"SOT202"}


def test_unknown_selector_on_the_command_line_exits_2(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "sotb.toml").write_text('root = "SoT"\n')
    monkeypatch.chdir(tmp_path)
    assert main(["lint", "--select", "SOT999"]) == 2
    assert "unknown rule selector 'SOT999'" in capsys.readouterr().err
