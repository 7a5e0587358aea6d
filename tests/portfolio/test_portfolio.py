"""Portfolio references resolve against other registries: folders, SQLite and JSON exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from sot_builder import engine
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.parse import parse_document
from sot_builder.portfolio import is_foreign_ref, load_catalog, namespace_of, portfolio_files
from sot_builder.project import load_project

OTHER_CONFIG = 'root = "SoT"\n\n[types.BR]\nfile = "SoT.BUSINESS_RULES.md"\nfields = []\n'
OTHER_RULES = """# Business Rules

## BR-003: Rate limit

**Status**: Active

## BR-004: Refund window

**Status**: Active
"""
PORTFOLIO = ("P", "X", "J")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/other (a registry), tmp/exports (its SQLite and JSON exports), tmp/main (refers to them)."""
    write(tmp_path / "other" / "sotb.toml", OTHER_CONFIG)
    write(tmp_path / "other" / "SoT" / "SoT.BUSINESS_RULES.md", OTHER_RULES)
    (tmp_path / "exports").mkdir()
    assert main(["export", str(tmp_path / "other"), "--no-cache", "--format", "sqlite",
                 "-o", str(tmp_path / "exports" / "other.sqlite")]) == 0
    assert main(["export", str(tmp_path / "other"), "--no-cache", "--format", "json",
                 "-o", str(tmp_path / "exports" / "other.json")]) == 0
    main_dir = tmp_path / "main"
    write(main_dir / "SoT" / "SoT.README.md", "# Registry\n")
    monkeypatch.chdir(main_dir)
    return main_dir


def configure(project: Path, portfolio: str, doc: str) -> None:
    write(project / "sotb.toml", f'root = "SoT"\ndocuments = ["docs/*.md"]\nportfolio = {portfolio}\n')
    write(project / "docs" / "plan.md", doc)


def problems(project: Path) -> list[tuple[int, int, str]]:
    config = load_config(project)
    diags = engine.run(load_project(config, use_cache=False), engine.active_rules(config.values))
    return [(d.line, d.column, d.code) for d in diags if d.code.startswith("SOT21")]


def messages(project: Path, code: str) -> list[str]:
    config = load_config(project)
    diags = engine.run(load_project(config, use_cache=False), engine.active_rules(config.values))
    return [f"{d.message} | {d.fix}" for d in diags if d.code == code]


def test_namespace_is_read_from_labels_and_text() -> None:
    doc = parse_document("[P:BR-003](x.md#br-003) and P:BR-004, portfolio:BR-005, BR-006, note:BR-007 "
                         "[BR-008](x.md) `P:BR-009`\n", "d.md", "doc")
    found = {r.target: namespace_of(doc, r) for r in doc.refs if r.target}
    assert found == {"BR-003": "P", "BR-004": "P", "BR-005": "portfolio", "BR-006": "", "BR-007": "note",
                     "BR-008": "", "BR-009": "P"}
    names = frozenset({"P", "portfolio"})
    assert [r.target for r in doc.refs if is_foreign_ref(doc, r, names)] == ["BR-003", "BR-004", "BR-005",
                                                                             "BR-009"]


@pytest.mark.parametrize("ns", PORTFOLIO)
def test_a_reference_resolves_and_a_broken_one_is_reported(world: Path, ns: str) -> None:
    configure(world, '{ P = "../other", X = "../exports/other.sqlite", J = "../exports/other.json" }',
              f"Limits follow [{ns}:BR-003](../../other/SoT/SoT.BUSINESS_RULES.md#br-003-rate-limit).\n"
              f"Refunds follow {ns}:BR-004; retries follow {ns}:BR-033.\n")

    assert problems(world) == [(2, 43, "SOT211")]
    [message] = messages(world, "SOT211")
    assert message.startswith(f"{ns}:BR-033 is defined nowhere in registry {ns} (")
    assert f"did you mean {ns}:BR-003?" in message


def test_a_link_must_land_on_its_entry(world: Path) -> None:
    configure(world, '{ P = "../other", J = "../exports/other.json" }',
              "- [P:BR-003](../../other/SoT/SoT.BUSINESS_RULES.md#br-003-rate-limit)\n"
              "- [P:BR-004](../../other/SoT/SoT.BUSINESS_RULES.md#br-004)\n"
              "- [P:BR-003](../../other/SoT/SoT.README.md#br-003-rate-limit)\n"
              "- [J:BR-004](https://example.org/other/blob/main/SoT/SoT.BUSINESS_RULES.md#br-004-refund-window)\n"
              "- [J:BR-003](https://example.org/other/blob/main/SoT/SoT.BUSINESS_RULES.md#rate-limit)\n")

    assert problems(world) == [(2, 3, "SOT212"), (3, 3, "SOT212"), (5, 3, "SOT212")]
    wrong_anchor, wrong_file, wrong_url = messages(world, "SOT212")
    assert "#br-004 is not the anchor of BR-004 ('Refund window')" in wrong_anchor
    assert wrong_anchor.endswith("| link to ../../other/SoT/SoT.BUSINESS_RULES.md#br-004-refund-window")
    assert "BR-003 is in ../../other/SoT/SoT.BUSINESS_RULES.md, not ../../other/SoT/SoT.README.md" in wrong_file
    assert "#rate-limit is not the anchor of BR-003" in wrong_url
    assert wrong_url.endswith("| use #br-003-rate-limit")


def test_portfolio_searches_every_registry(world: Path) -> None:
    configure(world, '{ P = "../other" }', "See portfolio:BR-003 and portfolio:BR-777.\n")
    assert problems(world) == [(1, 36, "SOT211")]

    configure(world, '{ P = "../other", X = "../exports/other.sqlite" }', "See portfolio:BR-003.\n")
    assert problems(world) == [(1, 15, "SOT210")]
    assert messages(world, "SOT210") == [
        "portfolio:BR-003 is defined in several registries (P, X) | name one: P:BR-003"]


def test_an_unreadable_registry_is_reported_once_per_document(world: Path) -> None:
    write(world.parent / "exports" / "broken.json", "{not json")
    configure(world, '{ P = "../nowhere", J = "../exports/broken.json" }',
              "P:BR-001 and P:BR-002, J:BR-003.\n\nAgain J:BR-004.\n")

    assert problems(world) == [(1, 3, "SOT210"), (1, 26, "SOT210")]
    missing, broken = messages(world, "SOT210")
    assert "registry P cannot be read: ../nowhere does not exist" in missing
    assert "registry J cannot be read: cannot read ../exports/broken.json" in broken


def test_references_without_a_configured_namespace_are_not_portfolio_references(world: Path) -> None:
    configure(world, "{}", "Q:BR-003 is prose, and so is note:BR-004.\n")
    assert problems(world) == []
    configure(world, "{}", "portfolio:BR-003\n")
    expected = ('portfolio:BR-003 but no registries are configured | name the registries in '
                '`portfolio = { NAME = "path" }`')
    assert messages(world, "SOT210") == [expected]


def test_catalogs_hold_titles_files_and_anchors(world: Path) -> None:
    base = world
    folder = load_catalog("P", "../other", base)
    sqlite = load_catalog("X", "../exports/other.sqlite", base)
    exported = load_catalog("J", "../exports/other.json", base)
    for cat in (folder, sqlite, exported):
        assert cat.ok, cat.problem
        entry = cat.entries["BR-004"]
        assert (entry.title, entry.file, entry.anchor) == ("Refund window", "SoT/SoT.BUSINESS_RULES.md",
                                                           "br-004-refund-window")
    assert (folder.kind, sqlite.kind, exported.kind) == ("project", "sqlite", "json")
    assert folder.project_dir == world.parent / "other"


def test_a_folder_without_configuration_is_read_with_the_defaults(tmp_path: Path) -> None:
    write(tmp_path / "bare" / "SoT" / "SoT.BUSINESS_RULES.md", OTHER_RULES)
    write(tmp_path / "flat" / "SoT.BUSINESS_RULES.md", OTHER_RULES)
    write(tmp_path / "empty" / "README.md", "nothing here\n")
    assert sorted(load_catalog("B", "bare", tmp_path).entries) == ["BR-003", "BR-004"]
    assert sorted(load_catalog("F", "flat", tmp_path).entries) == ["BR-003", "BR-004"]
    assert "has no SoT folder" in load_catalog("E", "empty", tmp_path).problem
    assert "neither a project folder" in load_catalog("R", "empty/README.md", tmp_path).problem


def test_portfolio_files_name_every_input(world: Path) -> None:
    configure(world, '{ P = "../other", X = "../exports/other.sqlite" }', "P:BR-003\n")
    files = {p.relative_to(world.parent).as_posix() for p in portfolio_files(load_config(world))}
    assert files == {"other/sotb.toml", "other/SoT/SoT.BUSINESS_RULES.md", "exports/other.sqlite"}
