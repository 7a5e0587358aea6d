"""Replay after two branches issued the same ID and `sotb renumber` moved one of them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sot_builder import engine, ledger
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.project import load_project

DATE = "2026-01-15"
CONFIG = "[types]\nPIC = {}\n"
PIC_FILE = "SoT.PARTNER_INTEGRATIONS.md"


def entry(n: int, title: str) -> str:
    return f"## PIC-{n:03d}: {title}\n\n**Status**: Active\n"


def write_sot(root: Path, *entries: str) -> None:
    (root / "SoT").mkdir(parents=True, exist_ok=True)
    (root / "sotb.toml").write_text(CONFIG, encoding="utf-8")
    text = "# Partner Integrations\n\n" + "\n".join(entries)
    (root / "SoT" / PIC_FILE).write_text(text, encoding="utf-8")


def update(root: Path, date: str = DATE) -> list[dict]:
    config = load_config(root)
    return ledger.update(config, load_project(config, use_cache=False), date=date)


def ledger_file(root: Path) -> Path:
    return root / "SoT" / "SoT.LEDGER.jsonl"


def read(root: Path) -> ledger.Ledger:
    found = ledger.read_ledger(ledger_file(root))
    assert found is not None
    return found


def rows(records: dict[str, ledger.Record]) -> list[tuple[str, str]]:
    return [(r.id, r.title) for r in ledger.live(records)]


def branch(base: Path, name: str, *entries: str) -> str:
    """The ledger lines a branch of `base` appends after adding `entries`."""
    copy = base.parent / name
    shutil.copytree(base, copy)
    write_sot(copy, *entries)
    update(copy)
    start = len(ledger_file(base).read_text(encoding="utf-8"))
    return ledger_file(copy).read_text(encoding="utf-8")[start:]


@pytest.fixture
def merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two branches each issued PIC-002; the ledger is union-merged, both entries kept."""
    root = tmp_path / "p"
    write_sot(root, entry(1, "Stripe"))
    update(root)
    base = ledger_file(root).read_text(encoding="utf-8")
    ours = branch(root, "adyen", entry(1, "Stripe"), entry(2, "Adyen Payments"))
    theirs = branch(root, "klarna", entry(1, "Stripe"), entry(2, "Klarna Checkout"))
    ledger_file(root).write_text(base + ours + theirs, encoding="utf-8")  # what merge=union writes
    write_sot(root, entry(1, "Stripe"), entry(2, "Adyen Payments"), entry(2, "Klarna Checkout"))
    monkeypatch.chdir(root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1768435200")  # 2026-01-15
    return root


def lint_codes(root: Path, select: str) -> list[tuple[str, int, str, tuple[str, ...]]]:
    config = load_config(root)
    rules = engine.active_rules(config.values, extra_select=(select,))
    return [(d.path, d.line, d.code, d.ids) for d in engine.run(load_project(config, use_cache=False), rules)]


def test_replay_keeps_the_second_issue_as_a_duplicate(merged: Path) -> None:
    records = ledger.replay(read(merged).events)
    assert rows(records) == [("PIC-001", "Stripe"), ("PIC-002", "Adyen Payments")]
    [dup] = records["PIC-002"].duplicates
    assert (dup.id, dup.title, dup.file, dup.issued_line) == ("PIC-002", "Klarna Checkout", PIC_FILE, 3)
    assert records["PIC-002"].history == [2]


def test_replay_after_renumber_shows_both_entries_under_their_own_titles(merged: Path, capsys) -> None:
    assert main(["renumber", "PIC-002"]) == 0
    text = (merged / "SoT" / PIC_FILE).read_text(encoding="utf-8")
    assert "## PIC-002: Adyen Payments" in text and "## PIC-003: Klarna Checkout" in text
    found = read(merged)
    assert found.ok and found.events[-1].kind == "renumbered"

    records = ledger.replay(found.events)
    assert rows(records) == [("PIC-001", "Stripe"), ("PIC-002", "Adyen Payments"),
                             ("PIC-003", "Klarna Checkout")]
    assert records["PIC-002"].duplicates == [] and not records["PIC-002"].renumbered_to
    assert records["PIC-003"].issued_line == found.events[-1].line
    capsys.readouterr()
    assert main(["ledger", "replay", "--format", "json"]) == 0
    assert [(r["id"], r["title"]) for r in json.loads(capsys.readouterr().out)] == [
        ("PIC-001", "Stripe"), ("PIC-002", "Adyen Payments"), ("PIC-003", "Klarna Checkout")]

    before = ledger_file(merged).read_bytes()
    assert update(merged) == []  # nothing spurious: no issued PIC-002, no title-changed PIC-003
    assert ledger_file(merged).read_bytes() == before
    assert main(["ledger", "update", "--check"]) == 0
    assert main(["ledger", "verify"]) == 0
    assert lint_codes(merged, "SOT5") == []


def test_replay_before_the_renumber_event_still_shows_the_first_title(merged: Path) -> None:
    assert main(["renumber", "PIC-002"]) == 0
    found = read(merged)
    records = ledger.replay(found.events, at=found.events[-1].line - 1)
    assert rows(records) == [("PIC-001", "Stripe"), ("PIC-002", "Adyen Payments")]


def test_renumbering_the_first_issued_entry_leaves_the_duplicate_under_the_old_id(merged: Path) -> None:
    assert main(["renumber", "PIC-002", "--file", f"SoT/{PIC_FILE}:7"]) == 0
    text = (merged / "SoT" / PIC_FILE).read_text(encoding="utf-8")
    assert "## PIC-003: Adyen Payments" in text and "## PIC-002: Klarna Checkout" in text
    records = ledger.replay(read(merged).events)
    assert rows(records) == [("PIC-001", "Stripe"), ("PIC-002", "Klarna Checkout"),
                             ("PIC-003", "Adyen Payments")]
    assert update(merged) == []
    assert lint_codes(merged, "SOT5") == []


# -- replay of hand-made events ----------------------------------------------------


def events(*items: dict) -> tuple[ledger.Event, ...]:
    chained = ledger.chain(items, [], DATE)
    return tuple(ledger.Event(n, data) for n, data in enumerate(chained, start=1))


def issued(ident: str, title: str, file: str = PIC_FILE) -> dict:
    return {"event": "issued", "id": ident, "title": title, "file": file, "status": "Active"}


def test_renumbered_event_picks_the_duplicate_by_file_when_the_title_does_not_tell() -> None:
    records = ledger.replay(events(
        issued("PIC-002", "Adyen", "SoT.A.md"), issued("PIC-002", "Klarna", "SoT.B.md"),
        {"event": "renumbered", "from": "PIC-002", "to": "PIC-003", "title": "Klarna Pay Later",
         "file": "SoT.B.md"}))
    assert [(r.id, r.title, r.file) for r in ledger.live(records)] == [
        ("PIC-002", "Adyen", "SoT.A.md"), ("PIC-003", "Klarna", "SoT.B.md")]


def test_renumbered_event_without_a_matching_duplicate_moves_the_record() -> None:
    records = ledger.replay(events(
        issued("PIC-002", "Adyen"),
        {"event": "renumbered", "from": "PIC-002", "to": "PIC-007"}))
    assert rows(records) == [("PIC-007", "Adyen")]
    assert records["PIC-002"].renumbered_to == "PIC-007"

    records = ledger.replay(events(
        issued("PIC-002", "Adyen"), issued("PIC-002", "Klarna"),
        {"event": "renumbered", "from": "PIC-002", "to": "PIC-007", "title": "Mollie", "file": PIC_FILE}))
    assert rows(records) == [("PIC-002", "Klarna"), ("PIC-007", "Adyen")]  # the duplicate takes its place
