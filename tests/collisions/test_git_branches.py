"""Two branches each `sotb add PIC`; the merge collides; lint says so; `sotb renumber` repairs it.

A real git repository in tmp_path, driven with the git command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sot_builder import engine
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.ledger import read_ledger
from sot_builder.project import load_project

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

PIC_FILE = "SoT/SoT.PARTNER_INTEGRATIONS.md"
LEDGER = "SoT/SoT.LEDGER.jsonl"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736467200")  # both branches on the same day
    monkeypatch.delenv("SOTB_RESERVATION_DB", raising=False)
    for key, value in {"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
                       "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.org",
                       "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.org"}.items():
        monkeypatch.setenv(key, value)
    git("init", "-q", "-b", "main")
    assert sotb("init", "--new") == 0
    with open("sotb.toml", "a", encoding="utf-8") as fh:
        fh.write('documents = ["docs/*.md"]\n')
    Path(".gitignore").write_text(".sotb_cache/\n.sotb.lock\n")
    assert sotb("new", "PIC") == 0
    assert sotb("add", "PIC", "--title", "Stripe Payment Processing") == 0
    assert sotb("ledger", "update") == 0  # starts the ledger; `sotb add` appends to it from now on
    git("add", "-A")
    git("commit", "-q", "-m", "registry with PIC-001")
    return root


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1) or (done.returncode == 1 and args[0] != "merge"):
        raise AssertionError(f"git {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def sotb(*args: str) -> int:
    return main(list(args))


def write(rel: str, text: str) -> None:
    Path(rel).parent.mkdir(parents=True, exist_ok=True)
    Path(rel).write_text(text, encoding="utf-8")


def branch_adding(name: str, title: str, doc: str, text: str) -> None:
    git("checkout", "-q", "-b", name, "main")
    assert sotb("add", "PIC", "--title", title) == 0
    write(doc, text)
    git("add", "-A")
    git("commit", "-q", "-m", f"add {title}")


def keep_both_sides(path: str) -> None:
    """Resolve a conflict the way a person adding two entries would: keep ours, then theirs."""
    git("checkout", "--conflict=diff3", "--", path)
    out, side = [], None
    for line in Path(path).read_text(encoding="utf-8").splitlines(keepends=True):
        marker = line[:8]
        if marker in ("<<<<<<< ", "||||||| ", ">>>>>>> ") or line.rstrip("\n") == "=======":
            side = {"<<<<<<< ": "ours", "||||||| ": "base", ">>>>>>> ": None}.get(marker, "theirs")
            continue
        if side != "base":
            out.append(line)
    Path(path).write_text("".join(out), encoding="utf-8")
    git("add", path)


def lint(project: Path) -> list:
    config = load_config(project)
    return engine.run(load_project(config, use_cache=False), engine.active_rules(config.values))


def test_two_branches_collide_and_renumber_repairs_the_merge(repo: Path) -> None:
    branch_adding("adyen", "Adyen Payments", "docs/cards.md",
                  "Cards go through [PIC-002](../SoT/SoT.PARTNER_INTEGRATIONS.md#pic-002-adyen-payments).\n"
                  "PIC-002 settles daily.\n")
    branch_adding("klarna", "Klarna Checkout", "docs/pay-later.md",
                  "Pay later goes through [PIC-002](../SoT/SoT.PARTNER_INTEGRATIONS.md#pic-002-klarna-checkout)."
                  "\nPIC-002 needs a signed contract.\n")
    # a third branch, started from the Klarna one, that links to Klarna by its anchor
    git("checkout", "-q", "-b", "late", "klarna")
    write("docs/late.md", "Klarna: [details](../SoT/SoT.PARTNER_INTEGRATIONS.md#pic-002-klarna-checkout).\n")
    git("add", "-A")
    git("commit", "-q", "-m", "late page")

    # both branches took PIC-002
    git("checkout", "-q", "adyen")
    git("merge", "-q", "--no-edit", "klarna")
    conflicted = git("diff", "--name-only", "--diff-filter=U").split()
    assert LEDGER not in conflicted  # the union merge driver merged the ledger
    assert PIC_FILE in conflicted
    for path in conflicted:
        keep_both_sides(path)
    git("commit", "-q", "--no-edit")

    ledger = read_ledger(repo / LEDGER)
    assert ledger is not None and ledger.problems == ()  # two valid histories merge into a valid one
    assert [(e.id, e.data["title"]) for e in ledger.events if e.kind == "issued"] == [
        ("PIC-001", "Stripe Payment Processing"), ("PIC-002", "Adyen Payments"), ("PIC-002", "Klarna Checkout")]
    assert sotb("ledger", "verify") == 0

    # lint explains the collision: both places, both titles, the ledger's order, the repair
    found = [d for d in lint(repo) if d.code == "SOT110"]
    assert [(d.path, d.ids) for d in found] == [(PIC_FILE, ("PIC-002",))] * 2
    first, second = found
    assert "'Adyen Payments' here and 'Klarna Checkout' at" in first.message
    assert "the ledger issued this one first" in first.message
    assert "the ledger issued this one later" in second.message and "after 'Adyen Payments'" in second.message
    assert "sotb renumber PIC-002" in first.fix

    assert sotb("renumber", "PIC-002") == 0

    text = (repo / PIC_FILE).read_text(encoding="utf-8")
    assert "## PIC-002: Adyen Payments" in text and "## PIC-003: Klarna Checkout" in text
    klarna = text[text.index("## PIC-003: Klarna Checkout"):]
    klarna = klarna[:klarna.index("\n---\n")]
    assert "PIC-002" not in klarna and "**ID**: PIC-003" in klarna
    assert "- [PIC-003](#pic-003-klarna-checkout) - Klarna Checkout" in text
    assert "- [PIC-002](#pic-002-adyen-payments) - Adyen Payments" in text
    index = (repo / "SoT/SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert "| PIC-003 | Klarna Checkout |" in index and "| PIC-002 | Adyen Payments |" in index
    assert (repo / "docs/pay-later.md").read_text() == (
        "Pay later goes through [PIC-003](../SoT/SoT.PARTNER_INTEGRATIONS.md#pic-003-klarna-checkout).\n"
        "PIC-003 needs a signed contract.\n")
    assert "[PIC-002](../SoT/SoT.PARTNER_INTEGRATIONS.md#pic-002-adyen-payments)" in (
        repo / "docs/cards.md").read_text()

    ledger = read_ledger(repo / LEDGER)
    assert ledger is not None and ledger.problems == ()
    last = ledger.events[-1].data
    assert (last["event"], last["from"], last["to"], last["title"]) == (
        "renumbered", "PIC-002", "PIC-003", "Klarna Checkout")
    errors = [(d.path, d.line, d.code) for d in lint(repo) if d.severity.value == "error"]
    assert errors == []
    git("add", "-A")
    git("commit", "-q", "-m", "renumber PIC-002 (Klarna) to PIC-003")

    # the late branch still links to the old anchor: lint names the new link
    git("merge", "-q", "--no-edit", "late")
    stale = [d for d in lint(repo) if d.code == "SOT111"]
    assert [(d.path, d.line, d.ids) for d in stale] == [("docs/late.md", 1, ("PIC-002", "PIC-003"))]
    assert stale[0].fix == "use [details](../SoT/SoT.PARTNER_INTEGRATIONS.md#pic-003-klarna-checkout)"
    assert sotb("ledger", "verify") == 0
