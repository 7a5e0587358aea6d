"""SOT4xx details the golden cases do not pin: readers, scopes and message contents."""

from __future__ import annotations

from pathlib import Path

import pytest
from consistency_helpers import check, tree

from sot_builder.rules.purity import methodology_phrase
from sot_builder.rules.registry_files import canonical_region, cell_file, cell_prefixes

PIC = "# Partners\n\n## PIC-001: Stripe\n\n**Status**: Active\n"


@pytest.mark.parametrize(("name", "canon"), [
    ("navigation", "navigation"), ("Navigation by Category", "navigation"), ("NAV", "navigation"),
    ("SoT Files", "files"), ("Prefix Registry", "prefixes"), ("Index Tables", "index"), ("dashboard", "dashboard"),
])
def test_region_names(name: str, canon: str) -> None:
    assert canonical_region(name) == canon


@pytest.mark.parametrize(("cell", "prefixes"), [
    ("PIC-###", ["PIC"]), ("**PIC**", ["PIC"]), ("API-XXX, BR-###", ["API", "BR"]), ("—", []),
    ("`MIG-NNN`", ["MIG"]), ("PIC-###, PIC-###", ["PIC"]),
])
def test_prefix_cells(cell: str, prefixes: list[str]) -> None:
    assert cell_prefixes(cell) == prefixes


@pytest.mark.parametrize(("cell", "name"), [
    ("[SoT.A.md](SoT.A.md)", "SoT.A.md"), ("`SoT.A.md`", "SoT.A.md"), ("**SoT.A.md**", "SoT.A.md"),
    ("[A](sub%20dir/SoT.A.md#top)", "sub dir/SoT.A.md"),
])
def test_file_cells(cell: str, name: str) -> None:
    assert cell_file(cell) == name


@pytest.mark.parametrize(("heading", "phrase"), [
    ("Best Practices for This Migration", "Best Practices"),
    ("3.1 Key Learnings", "Key Learnings"),
    ("💡 Tips and Tricks", "Tips"),
    ("How To Deploy", "How to"),
    ("Tipsy Notes", ""),
    ("When to Add New PIC-XXX IDs", ""),
    ("Integration Points", ""),
])
def test_methodology_headings(heading: str, phrase: str) -> None:
    phrases = ["Best Practices", "Key Learnings", "Tips", "How to"]
    assert methodology_phrase(heading, phrases) == phrase


def test_purity_sections_are_configurable(tmp_path: Path) -> None:
    text = PIC + "\n### Best Practices\n\n### Lessons From The Field\n"
    root = tree(tmp_path / "p", {"SoT.PARTNER_INTEGRATIONS.md": text},
                'root = "SoT"\npurity_sections = ["Lessons From"]\n')
    assert [d.line for d in check(root, "SOT601")] == [9]


def test_readme_rows_are_matched_by_link_target_not_text(tmp_path: Path) -> None:
    readme = ("| File | Prefixes | Purpose |\n|---|---|---|\n"
              "| [Partners](SoT.PARTNER_INTEGRATIONS.md) | PIC-### | Partners |\n")
    root = tree(tmp_path / "p", {"SoT.PARTNER_INTEGRATIONS.md": PIC, "SoT.README.md": readme})
    assert check(root, "SOT401") == [] and check(root, "SOT402") == [] and check(root, "SOT403") == []


def test_a_readme_without_a_file_table_misses_every_file(tmp_path: Path) -> None:
    root = tree(tmp_path / "p", {"SoT.PARTNER_INTEGRATIONS.md": PIC, "SoT.README.md": "# Registry\n"})
    [d] = check(root, "SOT401")
    assert (d.line, d.message) == (1, "SoT.PARTNER_INTEGRATIONS.md is not listed in SoT.README.md")


def test_index_tables_are_checked_only_where_kept(tmp_path: Path) -> None:
    ids = "# IDs\n\n| Prefix | Meaning | File |\n|---|---|---|\n| **PIC** | Partners | `SoT.PARTNER_INTEGRATIONS.md` |\n"
    root = tree(tmp_path / "p", {"SoT.PARTNER_INTEGRATIONS.md": PIC, "SoT.UNIQUE_ID_SYSTEM.md": ids})
    assert check(root, "SOT406") == [] and check(root, "SOT404") == [] and check(root, "SOT405") == []


def test_a_declared_type_without_file_or_entries_need_not_be_registered(tmp_path: Path) -> None:
    ids = "# IDs\n\n| Prefix | Meaning | File |\n|---|---|---|\n| **PIC** | Partners | `SoT.PARTNER_INTEGRATIONS.md` |\n"
    root = tree(tmp_path / "p", {"SoT.PARTNER_INTEGRATIONS.md": PIC, "SoT.UNIQUE_ID_SYSTEM.md": ids})
    assert check(root, "SOT404") == []  # API and BR are declared, but nothing uses them


def test_the_navigation_may_be_a_marked_region(tmp_path: Path) -> None:
    text = ("# Partners\n\n<!-- sotb:begin navigation -->\n- [PIC-001](#pic-001-stripe) - Stripe\n"
            "<!-- sotb:end navigation -->\n\n## PIC-001: Stripe\n\n## PIC-002: Adyen\n")
    root = tree(tmp_path / "p", {"SoT.PARTNER_INTEGRATIONS.md": text})
    assert [d.ids for d in check(root, "SOT410")] == [("PIC-002",)]
    assert check(root, "SOT412") == []


def test_a_link_to_another_files_entry_is_not_navigation(tmp_path: Path) -> None:
    text = ("# Partners\n\n## Navigation by Category\n\n- [PIC-001](#pic-001-stripe) - Stripe\n"
            "- [API-045](SoT.API_CONTRACTS.md#api-045-charge) - Charge\n\n## PIC-001: Stripe\n")
    api = "# API\n\n## API-045: Charge\n"
    root = tree(tmp_path / "p", {"SoT.PARTNER_INTEGRATIONS.md": text, "SoT.API_CONTRACTS.md": api})
    [d] = check(root, "SOT411")
    assert d.message == "the navigation lists API-045, which is defined in SoT/SoT.API_CONTRACTS.md"


def test_last_updated_accepts_yaml_dates_and_ignores_tables_outside_version_history(tmp_path: Path) -> None:
    text = ("---\nlast_updated: 2025-01-10\n---\n\n# Partners\n\n## PIC-001: Stripe\n\n### Contract\n\n"
            "| Item | Date |\n|---|---|\n| Renewal | 2026-06-15 |\n")
    root = tree(tmp_path / "p", {"SoT.PARTNER_INTEGRATIONS.md": text})
    assert check(root, "SOT409") == []
