"""The shipped examples behave as their READMEs say."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sot_builder.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REPO = EXAMPLES.parent


def lint_json(folder: Path, monkeypatch, capsys) -> tuple[int, list[dict]]:
    monkeypatch.chdir(folder)
    capsys.readouterr()
    code = main(["lint", "--no-cache", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_broken_registry_reports_every_listed_problem(monkeypatch, capsys):
    folder = EXAMPLES / "broken-registry"
    listed = re.findall(r"^- `([^`:]+):(\d+)` (SOT\d+)", (folder / "README.md").read_text(), re.M)
    assert len(listed) >= 12
    code, diags = lint_json(folder, monkeypatch, capsys)
    got = {(d["path"], d["line"], d["code"]) for d in diags}
    missing = [x for x in listed if (x[0], int(x[1]), x[2]) not in got]
    assert missing == [] and code == 1


def test_repository_registry_is_clean(monkeypatch, capsys):
    code, diags = lint_json(REPO, monkeypatch, capsys)
    assert [d for d in diags if d["severity"] == "error"] == [] and code == 0
