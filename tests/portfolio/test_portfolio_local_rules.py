"""References into another registry are not local problems."""

from __future__ import annotations

import json
from pathlib import Path

from sot_builder.cli import main


def test_foreign_refs_are_not_local_undefined_ids(tmp_path: Path, monkeypatch, capsys) -> None:
    other = tmp_path / "other"
    (other / "SoT").mkdir(parents=True)
    (other / "sotb.toml").write_text('root = "SoT"\n[types.PIC]\n')
    (other / "SoT" / "SoT.PARTNERS.md").write_text("## PIC-003: Adyen\n\n**Status**: Active\n")
    here = tmp_path / "here"
    (here / "SoT").mkdir(parents=True)
    (here / "sotb.toml").write_text('root = "SoT"\n[types.PIC]\n[portfolio]\nP = "../other"\n')
    (here / "SoT" / "SoT.PARTNERS.md").write_text(
        "## PIC-001: Stripe\n\n**Status**: Active\n\nSee P:PIC-003 and P:PIC-009.\n"
    )
    monkeypatch.chdir(here)
    capsys.readouterr()
    main(["lint", "--no-cache", "--format", "json", "--select", "SOT1,SOT2"])
    found = [(d["code"], d["ids"]) for d in json.loads(capsys.readouterr().out)]
    assert ("SOT201", ["PIC-003"]) not in found and ("SOT201", ["PIC-009"]) not in found
    assert any(code == "SOT211" and ids == ["PIC-009"] for code, ids in found)
