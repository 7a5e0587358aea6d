"""`sotb show` and `sotb refs`: an entry, its fields, who points at it and how."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sot_builder.cli import main
from sot_builder.diagnostics import SotbError
from sot_builder.query import backlinks, show_data


def test_show_data(project) -> None:
    data = show_data(project, "fea-001")  # IDs are matched case-insensitively
    assert (data["id"], data["title"], data["file"], data["status"]) == (
        "FEA-001", "Card payments", "SoT/SoT.FEATURES.md", "Active")
    assert [(f["name"], f["value"]) for f in data["fields"]] == [
        ("ID", "FEA-001"), ("Status", "Active"), ("Last Updated", "2025-01-12")]
    assert [(r["relation"], r["target"]) for r in data["references"]] == [
        ("part-of", "EPIC-001"), ("related", "API-045"), ("related", "BR-102")]
    assert {(b["source"], b["relation"]) for b in data["backlinks"]} == {
        ("API-045", "implements"), ("BR-102", ""), ("EPIC-001", "contains"), ("", ""), ("FEA-004", "")}


def test_backlinks_name_the_relation_and_its_inverse(project) -> None:
    found = {b.source: b for b in backlinks(project, "PIC-001")}
    assert found["API-045"].relation == "uses-partner" and found["API-045"].inverse == "used-by"
    assert found["BR-101"].relation == "affected-by" and found["BR-101"].inverse == "affects"
    assert found[""].path == "SoT/SoT.PARTNER_INTEGRATIONS.md"  # the navigation list
    assert "PIC-001" not in found  # its own "**ID**: PIC-001" line is no backlink


def test_unknown_id(project) -> None:
    with pytest.raises(SotbError, match="unknown ID FEA-999"):
        show_data(project, "FEA-999")


def test_show_command_text(registry: Path, capsys) -> None:
    assert main(["show", "-C", str(registry), "FEA-004"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:3] == [
        "FEA-004: Paper invoices",
        f"  file: {_shown(registry)}/SoT/SoT.FEATURES.md:86  #fea-004-paper-invoices",
        "  DEPRECATED",
    ]
    assert "  Superseded By  [FEA-001](#fea-001-card-payments)" in out
    assert "referenced by (0):" in out


def test_show_command_json(registry: Path, capsys) -> None:
    assert main(["show", "-C", str(registry), "--format", "json", "API-046"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "API-046" and data["deprecated"] is False
    assert [(b["source"], b["relation"]) for b in data["backlinks"]] == [
        ("", ""), ("FEA-002", "related")]


def test_refs_command(registry: Path, capsys) -> None:
    assert main(["refs", "-C", str(registry), "EPIC-001"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "EPIC-001 is referenced 3 times:"
    assert lines[1].split() == ["mentions", "-", f"{_shown(registry)}/SoT/SoT.EPICS.md:17"]
    assert lines[2].split() == ["part-of", "FEA-001", f"{_shown(registry)}/SoT/SoT.FEATURES.md:34"]
    assert main(["refs", "-C", str(registry), "--format", "json", "API-101"]) == 0
    assert json.loads(capsys.readouterr().out)["backlinks"][0]["path"] == "SoT/SoT.API_CONTRACTS.md"


def test_unknown_id_exits_2(registry: Path, capsys) -> None:
    for command in ("show", "refs"):
        assert main([command, "-C", str(registry), "API-999"]) == 2
        assert "unknown ID API-999: no entry defines it" in capsys.readouterr().err


def _shown(registry: Path) -> str:
    import os

    return os.path.relpath(registry).replace(os.sep, "/")
