"""`sotb type add`: define a new type, refusing the anti-patterns with their reasons."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sot_builder.registry import load_definition_file

ORDERS = (
    "--prefix", "ORD", "--title", "Trading Orders",
    "--purpose", "Source of Truth for the order types the trading engine accepts",
    "--why", "Orders need sides, venues and time-in-force fields no existing type has",
    "--category", "Market orders=1-99", "--category", "Limit orders=101-199",
    "--field", "Status:enum=Active,Draft,Retired:required",
    "--field", "Venue:text:required",
    "--field", "Settles:date",
    "--relation", "enforces:enforced-by:BR:Rules",
    "--section", "Execution",
)


def _unchanged(before: bytes) -> None:
    assert Path("sotb.toml").read_bytes() == before
    assert not Path("types").exists()


def test_a_valid_type_is_written_and_usable(registry, sotb):
    r = sotb("type", "add", *ORDERS)
    assert r.code == 0, r.err
    assert "sotb new ORD" in r.err
    data = load_definition_file(Path("types/ord.yaml"))
    assert data["prefix"] == "ORD" and data["file"] == "SoT.TRADING_ORDERS.md"
    assert [(c["name"], c["first"], c["last"]) for c in data["categories"]] == [
        ("Market orders", 1, 99), ("Limit orders", 101, 199)]
    assert data["fields"][0] == {"name": "Status", "required": True, "kind": "enum",
                                 "values": ["Active", "Draft", "Retired"]}
    assert data["relations"][0] == {"name": "enforces", "inverse": "enforced-by", "targets": ["BR"],
                                    "sections": ["Rules"], "back_reference": True}
    assert Path("types/ord.yaml").read_text(encoding="utf-8").startswith(
        "# ORD: Trading Orders\n# Why a new type: Orders need sides")
    config = tomllib.loads(Path("sotb.toml").read_text(encoding="utf-8"))
    assert config["types"] == {"ORD": {"definition": "types/ord.yaml"}}
    assert sotb("new", "ORD").code == 0
    r = sotb("add", "ORD", "--title", "Stop loss", "--category", "Limit orders", "--field", "Venue=XNAS")
    assert (r.code, r.out) == (0, "ORD-101\n")
    text = Path("SoT/SoT.TRADING_ORDERS.md").read_text(encoding="utf-8")
    assert "**Status**: Draft\n**Venue**: XNAS\n" in text
    assert "### Execution\n\n{Execution}\n" in text
    assert "[error]" not in sotb("lint").out


@pytest.mark.parametrize("args, reason", [
    (("--prefix", "BR", "--title", "Rule book", "--purpose", "Rules we keep"),
     "prefix BR is a built-in type (Business Rules); use it with `sotb new BR`"),
    (("--prefix", "AUTH", "--title", "Authentication Rules",
      "--purpose", "Source of Truth for authentication rules"),
     ("duplicates BR (Business Rules, SoT.BUSINESS_RULES.md): add BR entries in its 'Security' "
      "category (BR-101 to BR-199)")),
    (("--prefix", "NOTE", "--title", "Notes", "--purpose", "Random notes and ideas"),
     "idea, note, random: transient material"),
    (("--prefix", "MEET", "--title", "Meeting notes", "--purpose", "Notes from meetings"),
     "meeting, note: transient material"),
    (("--prefix", "MIGX", "--title", "Migration Playbook",
      "--purpose", "Schema upgrade steps including best practices for each entry"),
     "methodology text 'best practices' in the purpose"),
    (("--prefix", "ORDX", "--title", "Orders", "--purpose", "Orders the engine accepts",
      "--section", "Lessons Learned"),
     "methodology text 'Lessons Learned' in the section 'Lessons Learned'"),
])
def test_anti_patterns_are_refused_with_their_reason(registry, sotb, args, reason):
    before = Path("sotb.toml").read_bytes()
    common = ("--why", "because", "--category", "Core=1-99", "--field", "Status:enum=Active,Retired:required")
    r = sotb("type", "add", *args, *common)
    assert r.code == 2
    assert f"refusing to define type {args[1]}" in r.err
    assert reason in r.err
    _unchanged(before)


def test_a_registered_prefix_is_refused(registry, sotb):
    assert sotb("type", "add", *ORDERS).code == 0
    before = Path("sotb.toml").read_bytes()
    r = sotb("type", "add", *ORDERS)
    assert r.code == 2
    assert "prefix ORD is already registered (Trading Orders, SoT.TRADING_ORDERS.md)" in r.err
    assert Path("sotb.toml").read_bytes() == before


def test_no_id_structure_is_refused(registry, sotb):
    before = Path("sotb.toml").read_bytes()
    r = sotb("type", "add", "--prefix", "LOG", "--title", "Decision log", "--purpose", "Decisions",
             "--why", "none fits")
    assert r.code == 2
    assert "no ID structure: give at least one category" in r.err
    assert "no required fields" in r.err
    _unchanged(before)


def test_a_file_owned_by_another_type_is_refused(registry, sotb):
    r = sotb("type", "add", *ORDERS[:4], "--file", "SoT.API_CONTRACTS.md", *ORDERS[4:])
    assert r.code == 2
    assert "file SoT.API_CONTRACTS.md already belongs to API" in r.err


@pytest.mark.parametrize("flag, value, words", [
    ("--category", "Market orders 1-99", "write NAME=FIRST-LAST"),
    ("--category", "Backwards=99-1", "first > last"),
    ("--field", "Status:enum:required", "an enum needs values"),
    ("--field", "Status:colour", "is not a kind"),
    ("--relation", "used-by", "NAME:INVERSE"),
    ("--prefix", "orders1", "/prefix"),
])
def test_malformed_answers_are_reported(registry, sotb, flag, value, words):
    args = list(ORDERS)
    args[args.index(flag) + 1] = value
    r = sotb("type", "add", *args)
    assert r.code == 2
    assert words in r.err


def test_missing_answers_without_a_terminal(registry, sotb):
    r = sotb("type", "add", "--prefix", "ORD", "--title", "Trading Orders")
    assert r.code == 2 and "missing --purpose" in r.err
    r = sotb("type", "add", *[a for a in ORDERS if a not in ("--why", ORDERS[ORDERS.index("--why") + 1])])
    assert r.code == 2 and "missing --why" in r.err


def test_dry_run_writes_nothing(registry, sotb):
    before = Path("sotb.toml").read_bytes()
    r = sotb("type", "add", *ORDERS, "--dry-run")
    assert r.code == 0
    assert "+++ b/types/ord.yaml" in r.out and '+definition = "types/ord.yaml"' in r.out
    _unchanged(before)


def test_a_terminal_is_asked_the_questions(registry, monkeypatch):
    from click.testing import CliRunner

    from sot_builder.cli import cli
    from sot_builder.commands import scaffold as commands

    monkeypatch.setattr(commands, "_interactive", lambda: True)
    answers = "\n".join([
        "ORD", "Trading Orders", "Order types the trading engine accepts", "No type has venues",
        "Market orders=1-99", "",
        "Status:enum=Active,Retired:required", "",
        "",
    ]) + "\n"
    result = CliRunner().invoke(cli, ["type", "add"], input=answers)
    assert result.exit_code == 0, result.output
    assert "ID prefix" in result.output and "Why can't the existing SoT files hold it" in result.output
    data = load_definition_file(Path("types/ord.yaml"))
    assert data["categories"] == [{"name": "Market orders", "first": 1, "last": 99}]
    assert data["fields"] == [{"name": "Status", "required": True, "kind": "enum", "values": ["Active", "Retired"]}]
