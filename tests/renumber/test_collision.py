"""Two entries under one ID: which one moves, and which mentions follow it."""

from __future__ import annotations

from pathlib import Path

import pytest

from sot_builder import engine
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.diagnostics import SotbError
from sot_builder.ledger import append_events
from sot_builder.project import load_project
from sot_builder.renumber import plan_renumber
from tests.renumber.conftest import CONFIG, write_tree

PARTNERS = """# Partners

## Navigation by Category

**Payment providers** (PIC-001 to PIC-099):
- [PIC-001](#pic-001-stripe) - Stripe
- [PIC-002](#pic-002-adyen-payments) - Adyen Payments
- [PIC-002](#pic-002-klarna-checkout) - Klarna Checkout

---

## PIC-001: Stripe

**Status**: Active

---

## PIC-002: Adyen Payments

**Status**: Active
**ID**: PIC-002

---

## PIC-002: Klarna Checkout

**Status**: Active
**ID**: PIC-002

Unlike [PIC-002](#pic-002-adyen-payments), it lets customers pay later.

---
"""

API = """# API

## API-001: Charge

**Status**: Active

| Partner | Name |
|---------|------|
| PIC-002 | Adyen Payments |
| PIC-002 | Klarna Checkout |
"""

KLARNA = "Pay later goes through [PIC-002](../SoT/SoT.PARTNERS.md#pic-002-klarna-checkout).\nPIC-002 needs a contract.\n"
ADYEN = "Cards go through [PIC-002](../SoT/SoT.PARTNERS.md#pic-002-adyen-payments); PIC-002 is live.\n"
VAGUE = "Both payment flows use PIC-002.\n"


@pytest.fixture
def collided(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736467200")
    root = write_tree(tmp_path / "project", {
        "sotb.toml": CONFIG.replace('portfolio = { P = "../elsewhere" }\n', ""),
        "SoT/SoT.PARTNERS.md": PARTNERS,
        "SoT/SoT.API.md": API,
        "docs/klarna.md": KLARNA,
        "docs/adyen.md": ADYEN,
        "docs/vague.md": VAGUE,
    })
    monkeypatch.chdir(root)
    return root


def issue(project: Path, *titles: str) -> None:
    """Ledger lines as two merged branches leave them: PIC-001, then PIC-002 once per title."""
    config = load_config(project)
    events = [{"event": "issued", "id": "PIC-001", "title": "Stripe", "file": "SoT.PARTNERS.md"}]
    events += [{"event": "issued", "id": "PIC-002", "title": t, "file": "SoT.PARTNERS.md"} for t in titles]
    append_events(config, events)


def read(project: Path, rel: str) -> str:
    return (project / rel).read_text(encoding="utf-8")


def codes(project: Path) -> list[tuple[str, int, str]]:
    config = load_config(project)
    diags = engine.run(load_project(config, use_cache=False), engine.active_rules(config.values))
    return [(d.path, d.line, d.code) for d in diags if d.code in ("SOT101", "SOT110", "SOT111", "SOT201")]


def test_the_entry_the_ledger_issued_second_moves(collided: Path) -> None:
    issue(collided, "Adyen Payments", "Klarna Checkout")
    assert codes(collided) == [
        ("SoT/SoT.PARTNERS.md", 18, "SOT101"), ("SoT/SoT.PARTNERS.md", 18, "SOT110"),
        ("SoT/SoT.PARTNERS.md", 25, "SOT101"), ("SoT/SoT.PARTNERS.md", 25, "SOT110"),
    ]

    assert main(["renumber", "PIC-002", "--no-sync"]) == 0

    text = read(collided, "SoT/SoT.PARTNERS.md")
    assert "- [PIC-002](#pic-002-adyen-payments) - Adyen Payments\n" in text
    assert "- [PIC-003](#pic-003-klarna-checkout) - Klarna Checkout\n" in text
    assert "## PIC-002: Adyen Payments\n\n**Status**: Active\n**ID**: PIC-002\n" in text
    assert "## PIC-003: Klarna Checkout\n\n**Status**: Active\n**ID**: PIC-003\n" in text
    # a link inside the moved entry to the entry that keeps the ID still points there
    assert "Unlike [PIC-002](#pic-002-adyen-payments), it lets" in text
    api = read(collided, "SoT/SoT.API.md")
    assert "| PIC-002 | Adyen Payments |\n| PIC-003 | Klarna Checkout |\n" in api
    assert read(collided, "docs/klarna.md") == KLARNA.replace("PIC-002", "PIC-003").replace(
        "pic-002", "pic-003")
    assert read(collided, "docs/adyen.md") == ADYEN
    assert read(collided, "docs/vague.md") == VAGUE
    assert codes(collided) == []


def test_mentions_that_may_mean_either_entry_are_listed(collided: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    issue(collided, "Adyen Payments", "Klarna Checkout")
    plan = plan_renumber(load_project(load_config(collided), use_cache=False), "PIC-002")

    assert [(m.path, m.line, m.column) for m in plan.ambiguous] == [("docs/vague.md", 1, 24)]
    assert plan.reason == "issued after the other in the ledger (line 3)"
    assert main(["renumber", "PIC-002", "--no-sync"]) == 0
    assert "docs/vague.md:1:24: left PIC-002 alone" in capsys.readouterr().err


def test_ledger_order_decides_not_file_order(collided: Path) -> None:
    issue(collided, "Klarna Checkout", "Adyen Payments")
    plan = plan_renumber(load_project(load_config(collided), use_cache=False), "PIC-002")
    assert (plan.entry.title, plan.new) == ("Adyen Payments", "PIC-003")


def test_without_a_ledger_the_entry_must_be_named(collided: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = load_config(collided)
    with pytest.raises(SotbError, match="--file PATH:LINE"):
        plan_renumber(load_project(config, use_cache=False), "PIC-002")

    assert main(["renumber", "PIC-002", "--file", "SoT/SoT.PARTNERS.md:18", "--no-sync"]) == 0

    text = read(collided, "SoT/SoT.PARTNERS.md")
    assert "## PIC-003: Adyen Payments" in text and "## PIC-002: Klarna Checkout" in text
    assert read(collided, "docs/adyen.md") == ADYEN.replace("PIC-002", "PIC-003").replace("pic-002", "pic-003")
    assert "named by --file" in capsys.readouterr().err


def test_file_must_name_one_definition(collided: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["renumber", "PIC-002", "--file", "SoT/SoT.PARTNERS.md", "--no-sync"]) == 2
    assert "names more than one definition of PIC-002" in capsys.readouterr().err
    assert main(["renumber", "PIC-002", "--file", "SoT/SoT.API.md", "--no-sync"]) == 2
    assert read(collided, "SoT/SoT.PARTNERS.md") == PARTNERS


def test_same_title_twice_is_not_decided_by_the_ledger(collided: Path) -> None:
    (collided / "SoT" / "SoT.PARTNERS.md").write_text(PARTNERS.replace("Klarna Checkout", "Adyen Payments"))
    issue(collided, "Adyen Payments", "Adyen Payments")
    with pytest.raises(SotbError, match="does not tell which"):
        plan_renumber(load_project(load_config(collided), use_cache=False), "PIC-002")


def test_same_title_twice_moves_the_named_one_and_fixes_both_slugs(collided: Path) -> None:
    (collided / "SoT" / "SoT.PARTNERS.md").write_text(
        PARTNERS.replace("Klarna Checkout", "Adyen Payments").replace("#pic-002-klarna-checkout",
                                                                     "#pic-002-adyen-payments-1"))
    (collided / "docs" / "second.md").write_text("[Second](../SoT/SoT.PARTNERS.md#pic-002-adyen-payments-1)\n")

    # move the first: the second one's slug loses its -1 suffix, and links to it follow
    assert main(["renumber", "PIC-002", "--file", "SoT/SoT.PARTNERS.md:18", "--no-sync"]) == 0

    text = read(collided, "SoT/SoT.PARTNERS.md")
    assert "- [PIC-003](#pic-003-adyen-payments) - Adyen Payments\n" in text
    assert "- [PIC-002](#pic-002-adyen-payments) - Adyen Payments\n" in text
    assert read(collided, "docs/second.md") == "[Second](../SoT/SoT.PARTNERS.md#pic-002-adyen-payments)\n"
