"""The dashboard region: counts per file and prefix, staleness, latest changes, health."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from sot_builder import dashboard, engine
from sot_builder.config import load_config
from sot_builder.diagnostics import Diagnostic, Severity
from sot_builder.project import load_project

REGION_RE = re.compile(r"(<!-- sotb:begin dashboard -->\n).*?(<!-- sotb:end dashboard -->)", re.DOTALL)


def load(folder: Path):
    return load_project(load_config(folder), use_cache=False)


def reference_rules(project) -> list[Diagnostic]:
    """Diagnostics of the reference rules only: the numbers these tests count."""
    rules = [r for r in engine.active_rules(project.config.values) if r.code in ("SOT201", "SOT202", "SOT203")]
    return engine.run(project, rules)


def write_region(folder: Path, body: str) -> None:
    readme = folder / "SoT" / "SoT.README.md"
    text = readme.read_text(encoding="utf-8")
    readme.write_text(REGION_RE.sub(lambda m: m.group(1) + body + m.group(2), text), encoding="utf-8")


def row(board: dashboard.Dashboard, prefix: str) -> dashboard.Row:
    return next(r for r in board.rows if r.prefix == prefix)


def test_counts_per_file_and_prefix(registry: Path) -> None:
    project = load(registry)
    board = dashboard.dashboard_data(project, reference_rules(project))
    assert [(r.path.rsplit("/", 1)[1], r.prefix) for r in board.rows] == [
        ("SoT.API_CONTRACTS.md", "API"), ("SoT.BUSINESS_RULES.md", "BR"), ("SoT.EPICS.md", "EPIC"),
        ("SoT.FEATURES.md", "FEA"), ("SoT.PARTNER_INTEGRATIONS.md", "PIC"),
    ]
    fea = row(board, "FEA")
    assert (fea.entries, fea.deprecated, fea.broken, fea.missing_back) == (4, 1, 2, 0)
    assert dict(fea.statuses) == {"Active": 1, "Draft": 1, "Proposed": 1, "Deprecated": 1}
    assert fea.last_updated == date(2025, 1, 18)
    assert row(board, "API").statuses == (("Active", 2), ("Draft", 1))
    assert board.total().entries == 11


def test_staleness_is_measured_from_the_newest_date_in_the_registry(registry: Path) -> None:
    project = load(registry)
    board = dashboard.dashboard_data(project, [])
    assert board.reference == date(2025, 1, 20)
    # FEA-003 (2024-06-01) and API-101 (2024-05-02); FEA-004 is older but deprecated
    assert row(board, "FEA").stale_ids == ("FEA-003",)
    assert row(board, "API").stale_ids == ("API-101",)
    assert (board.stale, board.active) == (2, 10)


def test_today_can_be_injected(registry: Path) -> None:
    project = load(registry)
    board = dashboard.dashboard_data(project, [], today=date(2025, 6, 1))
    assert board.reference == date(2025, 6, 1)
    # everything dated before 2025-03-03 is now stale
    assert board.stale == 10
    assert board.health == "red"


def test_stale_days_comes_from_the_configuration(registry: Path) -> None:
    config = registry / "sotb.toml"
    config.write_text(config.read_text().replace("stale_days = 90", "stale_days = 300"))
    board = dashboard.dashboard_data(load(registry), [])
    assert board.stale == 0


def test_latest_changes_newest_first_and_limited(registry: Path) -> None:
    board = dashboard.dashboard_data(load(registry), [])
    got = [(c.when.isoformat(), c.entry, c.version) for c in board.changes]
    assert got == [
        ("2025-01-20", "EPIC-001", "1.1"),
        ("2025-01-18", "FEA-002", "0.1"),
        ("2025-01-12", "FEA-001", "1.0"),
        ("2025-01-10", "API-045", "1.1"),
        ("2025-01-10", "PIC-001", "1.0"),
    ]  # recent_changes = 5 in the fixture's configuration
    assert board.changes[0].changes == "Added saved wallets"


def test_health_thresholds(registry: Path) -> None:
    project = load(registry)
    diags = reference_rules(project)
    assert len(diags) == 2
    opts = dashboard.settings(project.config.values)
    assert dashboard.health(0, 0.0, opts) == "green"
    assert dashboard.health(1, 0.0, opts) == "yellow"
    assert dashboard.health(10, 0.0, opts) == "red"
    assert dashboard.health(0, 10.0, opts) == "yellow"
    assert dashboard.health(0, 25.0, opts) == "red"
    # the fixture: 2 errors and 20% stale -> yellow
    assert dashboard.dashboard_data(project, diags).health == "yellow"
    config = registry / "sotb.toml"
    config.write_text(config.read_text() + "red_problems = 2\n")
    assert dashboard.dashboard_data(load(registry), diags).health == "red"


def test_missing_back_references_are_counted_by_code(registry: Path) -> None:
    project = load(registry)
    pic = project.entry("PIC-001")
    fake = Diagnostic("SOT208", "missing back-reference", pic.path, pic.line + 3, 1, Severity.WARNING)
    board = dashboard.dashboard_data(project, [fake])
    assert row(board, "PIC").missing_back == 1
    assert (board.errors, board.warnings) == (0, 1)


def test_region_markdown(registry: Path) -> None:
    project = load(registry)
    text = dashboard.dashboard_region(project, reference_rules(project))
    assert text.endswith("\n") and "<!--" not in text
    assert text.splitlines()[0] == "**Health**: 🟡 yellow: 2 errors, 0 warnings; 2 of 10 entries stale (20%)"
    assert ("| [SoT.FEATURES.md](SoT.FEATURES.md) | FEA | 4 | Active 1, Deprecated 1, Draft 1, "
            "Proposed 1 | 1 | 2 | 0 | 1 | 2025-01-18 |") in text
    assert "| 2025-01-20 | [EPIC-001](SoT.EPICS.md#epic-001-checkout) | 1.1 | Added saved wallets |" in text
    assert "90 days before 2025-01-20" in text


def test_region_is_idempotent(registry: Path) -> None:
    """Writing the region and computing it again gives the same text, even with lint on."""
    first = dashboard.dashboard_region(load(registry))
    write_region(registry, first)
    second = dashboard.dashboard_region(load(registry))
    assert second == first
    write_region(registry, second)
    assert dashboard.dashboard_region(load(registry)) == first


def test_the_region_does_not_count_itself(registry: Path) -> None:
    """A broken link or a history table inside the region changes nothing."""
    project = load(registry)
    before = dashboard.dashboard_region(project, reference_rules(project))
    write_region(registry, before + "[API-777](SoT.API_CONTRACTS.md#api-777)\n\n"
                 "| Version | Date | Changes |\n|---|---|---|\n| 9.9 | 2030-01-01 | from the future |\n")
    project = load(registry)
    diags = reference_rules(project)
    assert any(d.path.endswith("SoT.README.md") for d in diags)  # the lint does see it
    assert dashboard.dashboard_region(project, diags) == before


def test_dashboard_file_setting(registry: Path) -> None:
    config = registry / "sotb.toml"
    config.write_text(config.read_text() + 'file = "SoT.STATUS.md"\n')
    project = load(registry)
    assert dashboard.dashboard_path(project) == "SoT/SoT.STATUS.md"


def test_empty_registry(tmp_path: Path) -> None:
    (tmp_path / "SoT").mkdir()
    (tmp_path / "sotb.toml").write_text('root = "SoT"\n')
    project = load(tmp_path)
    board = dashboard.dashboard_data(project, [])
    assert board.rows == () and board.reference is None and board.health == "green"
    assert dashboard.dashboard_region(project, []).startswith("**Health**: 🟢 green: 0 errors")


def test_sync_twice_changes_nothing(registry: Path) -> None:
    """End to end: `sotb sync` writes the region; a second sync finds nothing to change."""
    sync = pytest.importorskip("sot_builder.sync")
    config = load_config(registry)
    first = sync.sync_project(config, write=True)
    assert any(c.path.endswith("SoT.README.md") for c in first.changes)
    readme = (registry / "SoT" / "SoT.README.md").read_text(encoding="utf-8")
    assert "| [SoT.FEATURES.md](SoT.FEATURES.md) | FEA | 4 |" in readme
    assert sync.sync_project(config, write=True).changes == ()
