"""`sotb init` adopts existing repositories; `sotb init --new` starts one."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from sot_builder.cli import main
from tests.core.test_lint_cli import make_registry


def lint_json(folder: Path, monkeypatch, capsys) -> tuple[int, list[dict]]:
    monkeypatch.chdir(folder)
    capsys.readouterr()
    code = main(["lint", "--no-cache", "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_init_then_lint_on_generated_registry(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path, per_prefix=99)
    (tmp_path / "sotb.toml").unlink()
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    config = tomllib.loads((tmp_path / "sotb.toml").read_text())
    assert set(config["types"]) == {"API", "BR", "UJ"}
    code, diags = lint_json(tmp_path, monkeypatch, capsys)
    assert [d for d in diags if d["severity"] == "error"] == [] and code == 0


def test_init_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    make_registry(tmp_path, per_prefix=3)
    before = (tmp_path / "sotb.toml").read_text()
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "sotb.toml").read_text() == before


MESSY = {
    "SoT/SoT.UNIQUE_ID_SYSTEM.md": (
        "# IDs\n\n| Prefix | Meaning | File |\n|---|---|---|\n"
        "| **BR-XXX** | Business rules | `SoT.BUSINESS_RULES.md` |\n"
        "| **ENV-XXX** | Environments | `SoT.ENVIRONMENTS.md` |\n"
        "| **API-XXX** | API | `SoT.API.md` |\n"
        "| **WID-XXX** | Widgets | `SoT.WIDGETS.md` |\n"
    ),
    "SoT/SoT.BUSINESS_RULES.md": (
        "---\nid_prefix: BR-###\n---\n"
        "# BR-FEA-001: Compound rule\n\n**Status**: Live\n\nUses [API-001](SoT.API.md#api-001).\n\n"
        "# BR-002: Second\n\n**Status**: Active\n"
    ),
    "SoT/SoT.API.md": (
        "# API\n\n<a id=\"api-001\"></a>\n### API-001 — Get widgets\n\n**Status**: Active\n\n"
        "See [BR-002](SoT.BUSINESS_RULES.md#br-002) and [WID-450](SoT.WIDGETS.md#wid-450--blue).\n"
    ),
    "SoT/SoT.ENVIRONMENTS.md": (
        "# Environments\n\n| ID | Name | Status |\n|----|------|--------|\n"
        "| ENV-001 | Production | Active |\n| ENV-002 | Staging | Active |\n"
    ),
    "SoT/SoT.WIDGETS.md": "# Widgets\n\n## WID-450 | Blue\n\nUsed on ENV-001.\n",
    ".claude/domain-profile.yaml": "id_prefixes:\n  WID: {file: SoT/SoT.WIDGETS.md, name: Widgets}\n",
}


def test_init_on_a_messy_repository(tmp_path, monkeypatch, capsys):
    for name, text in MESSY.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    err = capsys.readouterr().err
    assert "ENV:" in err and "table rows" in err
    types = tomllib.loads((tmp_path / "sotb.toml").read_text())["types"]
    assert types["WID"]["title"] == "Widgets" and types["API"]["file"] == "SoT.API.md"
    assert types["WID"]["categories"] == [{"name": "400-499", "first": 400, "last": 499}]
    code, diags = lint_json(tmp_path, monkeypatch, capsys)
    # the short #br-002 anchor does not resolve on GitHub: that is the only error
    errors = [(d["code"], d["path"], d["line"]) for d in diags if d["severity"] == "error"]
    assert errors == [("SOT203", "SoT/SoT.API.md", 8)]
    assert code == 1


def test_init_new_creates_an_empty_registry(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["init", "--new"]) == 0
    assert (tmp_path / "SoT" / "SoT.README.md").is_file()
    assert (tmp_path / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md").is_file()
    assert tomllib.loads((tmp_path / "sotb.toml").read_text())["root"] == "SoT"
    assert "SoT/SoT.LEDGER.jsonl merge=union" in (tmp_path / ".gitattributes").read_text()
    assert {".sotb_cache/", ".sotb.lock"} <= set((tmp_path / ".gitignore").read_text().splitlines())
    code, diags = lint_json(tmp_path, monkeypatch, capsys)
    assert code == 0 and [d for d in diags if d["severity"] == "error"] == []
