"""The whole cycle on a real tree: lint finds the drift, sync repairs it, lint is clean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sync_helpers import edit, snapshot

from sot_builder.cli import main

NEW_FILE = """---
purpose: Source of Truth for runtime environments
id_prefix: ENV-###
last_updated: 2025-02-01
---

# Environments (SoT File)

## ENV-001: Production

**ID**: ENV-001
**Status**: Active
"""

ADYEN = """## PIC-002: Adyen Payments

**ID**: PIC-002
**Partner**: Adyen N.V.
**Status**: Pending
**SLA Guarantee**: 99.9%
**Billing Contact**: payments@ourcompany.com

---

## PIC-101: Twilio SMS/Voice"""


def lint(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    capsys.readouterr()
    code = main(["lint", "--format", "json", "--no-cache", *args])
    return code, json.loads(capsys.readouterr().out)


def break_registry(root: Path) -> None:
    sot = root / "SoT"
    # a missing back-reference: API-046 no longer names the partner that lists it
    edit(sot / "SoT.API_CONTRACTS.md",
         "Creates a recurring subscription.\n\n### Uses Partner\n\n"
         "- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe-payment-processing)"
         " - Stripe Payment Processing\n",
         "Creates a recurring subscription.\n")
    # a stale navigation: a new entry nobody listed
    edit(sot / "SoT.PARTNER_INTEGRATIONS.md", "## PIC-101: Twilio SMS/Voice", ADYEN)
    # an unregistered prefix and a stale README table: a new file
    (sot / "SoT.ENVIRONMENTS.md").write_text(NEW_FILE, encoding="utf-8")


def test_fixture_is_clean(registry: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(registry)
    assert lint(capsys) == (0, [])


def test_lint_reports_sync_repairs_second_sync_is_a_no_op(registry: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(registry)
    break_registry(registry)

    code, found = lint(capsys)
    assert code == 1
    got = {(d["code"], d["path"], tuple(d["ids"])) for d in found}
    assert ("SOT208", "SoT/SoT.API_CONTRACTS.md", ("API-046", "PIC-001")) in got
    assert ("SOT404", "SoT/SoT.UNIQUE_ID_SYSTEM.md", ()) in got
    assert ("SOT401", "SoT/SoT.README.md", ()) in got
    assert ("SOT410", "SoT/SoT.PARTNER_INTEGRATIONS.md", ("PIC-002",)) in got
    assert ("SOT412", "SoT/SoT.ENVIRONMENTS.md", ()) in got

    # --check: writes nothing, prints a diff, exits 1
    before = snapshot(registry)
    capsys.readouterr()
    assert main(["sync", "--check"]) == 1
    out = capsys.readouterr().out
    assert "+++ b/SoT/SoT.README.md" in out and "+| [SoT.ENVIRONMENTS.md]" in out
    assert snapshot(registry) == before

    assert main(["sync"]) == 0
    text = capsys.readouterr().out
    assert "updated SoT/SoT.API_CONTRACTS.md" in text

    api = (registry / "SoT" / "SoT.API_CONTRACTS.md").read_text(encoding="utf-8")
    assert ("Creates a recurring subscription.\n\n### Uses Partner\n\n- [PIC-001]"
            "(SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe-payment-processing) - Stripe Payment Processing\n"
            "\n---\n") in api
    pic = (registry / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").read_text(encoding="utf-8")
    assert "- [PIC-002](#pic-002-adyen-payments) - Adyen Payments\n" in pic
    ids = (registry / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert "| **ENV** | Environments | `SoT.ENVIRONMENTS.md` |" in ids
    assert "| ENV-001 | Production | Active | — |" in ids

    after = snapshot(registry)
    assert main(["sync"]) == 0
    assert "nothing to change" in capsys.readouterr().out
    assert snapshot(registry) == after
    assert main(["sync", "--check"]) == 0
    assert capsys.readouterr().out == ""
    assert lint(capsys) == (0, [])


def test_lint_fix_runs_sync(registry: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(registry)
    break_registry(registry)
    capsys.readouterr()
    assert main(["lint", "--fix", "--no-cache"]) == 0
    assert main(["sync", "--check"]) == 0


def test_sync_takes_a_project_folder(registry: Path, capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    break_registry(registry)
    assert main(["sync", str(registry)]) == 0
    assert main(["sync", "--check", str(registry)]) == 0


def test_sync_diff_prints_what_it_writes(registry: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(registry)
    break_registry(registry)
    capsys.readouterr()
    assert main(["sync", "--diff"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- a/SoT/")
    assert "+<!-- sotb:begin navigation -->" in out
