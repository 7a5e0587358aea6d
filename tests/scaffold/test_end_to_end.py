"""From an empty folder: init, two new files, entries in two categories, a clean lint."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import TODAY_EPOCH


def test_empty_folder_to_a_clean_registry(tmp_path, monkeypatch, sotb):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", TODAY_EPOCH)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # the project stops here
    assert sotb("init", "--new").code == 0
    assert sotb("new", "PIC").code == 0
    assert sotb("new", "API").code == 0
    r = sotb("add", "PIC", "--title", "Stripe Payment Processing", "--category", "Payment providers")
    assert (r.code, r.out) == (0, "PIC-001\n")
    r = sotb("add", "PIC", "--title", "Twilio SMS/Voice", "--category", "Communication services")
    assert (r.code, r.out) == (0, "PIC-101\n")
    r = sotb("add", "API", "--title", "POST /payments/charge", "--ref", "PIC-001")
    assert (r.code, r.out) == (0, "API-001\n")
    r = sotb("add", "PIC", "--title", "{{ 7*7 }} {% raw %}")
    assert (r.code, r.out) == (0, "PIC-002\n")
    pic = Path("SoT/SoT.PARTNER_INTEGRATIONS.md")
    text = pic.read_text(encoding="utf-8")
    assert "## PIC-002: {{ 7\\*7 }} {% raw %}\n" in text

    before = pic.read_bytes()
    r = sotb("new", "PIC")
    assert r.code == 2 and "already exists" in r.err
    assert pic.read_bytes() == before

    readme = Path("SoT/SoT.README.md").read_text(encoding="utf-8")
    assert "SoT.PARTNER_INTEGRATIONS.md" in readme and "SoT.API_CONTRACTS.md" in readme
    registry = Path("SoT/SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    for ident in ("PIC-001", "PIC-002", "PIC-101", "API-001"):
        assert ident in registry
    r = sotb("lint")
    assert r.code == 0, r.out
    codes = {line.split()[1] for line in r.out.splitlines() if "[warning]" in line}
    assert codes <= {"SOT206", "SOT304"}, r.out  # only the unfilled placeholders remain


def test_sync_finds_nothing_left_to_do(tmp_path, monkeypatch, sotb):
    pytest.importorskip("sot_builder.commands.sync")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()
    assert sotb("init", "--new").code == 0
    assert sotb("new", "PIC").code == 0
    assert sotb("add", "PIC", "--title", "Stripe").code == 0
    r = sotb("sync", "--check")
    assert r.code == 0, r.out + r.err
