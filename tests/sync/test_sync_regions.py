"""Generated regions: adoption, regeneration, creation, other marker styles, byte preservation."""

from __future__ import annotations

import importlib.machinery
import re
import sys
import types
from pathlib import Path

import pytest
from sync_helpers import edit, snapshot

import sot_builder.sync as sync_module
from sot_builder.cli import main
from sot_builder.config import load_config
from sot_builder.engine import run
from sot_builder.project import load_project
from sot_builder.rules import all_rules
from sot_builder.sync import plan_sync, sync_project

MARKER = re.compile(r"^\s*<!--\s*(sotb:(begin|end)\s+\S+|/?SECTION:[^>]*)\s*-->\s*$")


def sync(root: Path, write: bool = True):
    return sync_project(load_config(root), write=write)


def lint_codes(root: Path) -> list[tuple[str, str]]:
    project = load_project(load_config(root), use_cache=False)
    return [(d.code, d.path) for d in run(project, all_rules())]


def without_markers(data: bytes) -> bytes:
    lines = data.decode("utf-8").split("\n")
    return "\n".join(line for line in lines if not MARKER.match(line)).encode("utf-8")


def test_first_sync_of_a_clean_registry_only_adds_markers(registry: Path) -> None:
    before = snapshot(registry)
    result = sync(registry)
    after = snapshot(registry)
    assert sorted(result.changed_files) == [f"SoT/{n}" for n in (
        "SoT.API_CONTRACTS.md", "SoT.BUSINESS_RULES.md", "SoT.PARTNER_INTEGRATIONS.md",
        "SoT.README.md", "SoT.UNIQUE_ID_SYSTEM.md")]
    for name, data in after.items():
        assert without_markers(data) == before[name], name
    readme = after["SoT/SoT.README.md"].decode()
    assert "## SoT Files\n\n<!-- sotb:begin files -->\n| File | Prefixes | Purpose |" in readme
    assert "(SoT.UNIQUE_ID_SYSTEM.md) | — | Registry of every ID prefix and index of every ID |\n" \
           "<!-- sotb:end files -->\n\n## How to read these files\n" in readme
    nav = after["SoT/SoT.BUSINESS_RULES.md"].decode()
    assert ("## Navigation by Category\n\n<!-- sotb:begin navigation -->\n**Core rules** (BR-001 to BR-099):\n"
            "\n**Security** (BR-101 to BR-199):\n- [BR-101](#br-101-payment-retry-policy) - Payment retry policy\n"
            "\n**Billing** (BR-201 to BR-299):\n<!-- sotb:end navigation -->\n\n---\n") in nav
    assert sync(registry).changes == ()


def test_edits_inside_a_region_are_reported_and_overwritten(registry: Path) -> None:
    sync(registry)
    ids = registry / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md"
    edit(ids, "| PIC-101 | Twilio SMS/Voice | Active | API-050 |", "| PIC-101 | Twilio | Active | API-050 |")
    assert ("SOT407", "SoT/SoT.UNIQUE_ID_SYSTEM.md") in lint_codes(registry)
    assert ("SOT414", "SoT/SoT.UNIQUE_ID_SYSTEM.md") not in lint_codes(registry)  # explained already
    sync(registry)
    # a difference no specific rule explains: the generic stale-region problem
    edit(ids, "| BR-101 | Payment retry policy | Active | API-045, PIC-001 |",
         "| BR-101 | Payment retry policy | Active | PIC-001 |")
    assert lint_codes(registry) == [("SOT414", "SoT/SoT.UNIQUE_ID_SYSTEM.md")]
    assert sync(registry).changed_files == ["SoT/SoT.UNIQUE_ID_SYSTEM.md"]
    assert lint_codes(registry) == []


def test_section_style_markers_are_recognised_and_kept(registry: Path) -> None:
    readme = registry / "SoT" / "SoT.README.md"
    readme.write_text(
        "# Registry\n\n<!-- SECTION: SoT Files -->\n| File | Purpose |\n|---|---|\n| [x.md](x.md) | gone |\n"
        "<!-- /SECTION: SoT Files -->\n\nTail.\n", encoding="utf-8")
    assert ("SOT402", "SoT/SoT.README.md") in lint_codes(registry)
    sync(registry)
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Registry\n\n<!-- SECTION: SoT Files -->\n| File | Prefixes | Purpose |\n")
    assert text.endswith("| Registry of every ID prefix and index of every ID |\n<!-- /SECTION: SoT Files -->\n"
                         "\nTail.\n")
    assert "sotb:begin" not in text
    assert sync(registry).changes == ()


def test_line_endings_bom_and_trailing_spaces_are_kept(registry: Path) -> None:
    path = registry / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    text = path.read_text(encoding="utf-8")
    text = text.replace("Specifications for all third-party service integrations",
                        "Specifications for all third-party service integrations   ")
    text = text.replace("- [PIC-101](#pic-101-twilio-smsvoice) - Twilio SMS/Voice\n", "")  # stale navigation
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    sync(registry)
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf---\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b"service integrations   \r\n" in data
    assert b"<!-- sotb:begin navigation -->\r\n" in data
    assert b"- [PIC-101](#pic-101-twilio-smsvoice) - Twilio SMS/Voice\r\n" in data
    assert sync(registry).changes == ()


def test_a_missing_final_newline_stays_missing(registry: Path) -> None:
    ids = registry / "SoT" / "SoT.UNIQUE_ID_SYSTEM.md"
    text = ids.read_text(encoding="utf-8")
    text = text[: text.index("\n## 3. Rules")].rstrip("\n")  # the index tables end the file
    text = text.replace("| API-050 | POST /notifications/sms | Active | PIC-101 |\n", "")
    ids.write_text(text, encoding="utf-8")
    api = registry / "SoT" / "SoT.API_CONTRACTS.md"
    edit(api, "\n### Uses Partner\n\n- [PIC-101](SoT.PARTNER_INTEGRATIONS.md#pic-101-twilio-smsvoice)"
              " - Twilio SMS/Voice\n", "")
    api.write_bytes(api.read_bytes().rstrip(b"\n"))  # API-050 ends the file, without a newline
    sync(registry)
    ids_text = ids.read_text(encoding="utf-8")
    assert ids_text.endswith("| PIC-101 | Twilio SMS/Voice | Active | API-050 |\n<!-- sotb:end index -->")
    assert "| API-050 | POST /notifications/sms | Active | PIC-101 |" in ids_text
    assert api.read_text(encoding="utf-8").endswith(
        "Sends a transactional SMS.\n\n### Uses Partner\n\n"
        "- [PIC-101](SoT.PARTNER_INTEGRATIONS.md#pic-101-twilio-smsvoice) - Twilio SMS/Voice")
    assert sync(registry).changes == ()
    assert lint_codes(registry) == []


EMPTY_README = """<!-- sotb:begin files -->
| File | Prefixes | Purpose |
|------|----------|---------|
| [SoT.API_CONTRACTS.md](SoT.API_CONTRACTS.md) | API-### | Source of Truth for our API endpoints and their contracts |
| [SoT.BUSINESS_RULES.md](SoT.BUSINESS_RULES.md) | BR-### | Source of Truth for business rules the product enforces |
| [SoT.PARTNER_INTEGRATIONS.md](SoT.PARTNER_INTEGRATIONS.md) | PIC-### | Source of Truth for third-party partner integrations and their contracts |
| [SoT.UNIQUE_ID_SYSTEM.md](SoT.UNIQUE_ID_SYSTEM.md) | — | Registry of every ID prefix and index of every ID |
<!-- sotb:end files -->
"""


def test_empty_readme_and_id_system_are_filled(registry: Path) -> None:
    sot = registry / "SoT"
    (sot / "SoT.README.md").write_text("", encoding="utf-8")
    (sot / "SoT.UNIQUE_ID_SYSTEM.md").write_text("# Unique ID System\n", encoding="utf-8")
    sync(registry)
    assert (sot / "SoT.README.md").read_text(encoding="utf-8") == "## SoT Files\n\n" + EMPTY_README
    ids = (sot / "SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert ids.startswith(
        "# Unique ID System\n\n## Prefix Registry\n\n<!-- sotb:begin prefixes -->\n| Prefix | Meaning | File |\n")
    assert ("| **PIC** | Partner Integration Contracts | `SoT.PARTNER_INTEGRATIONS.md` |\n"
            "<!-- sotb:end prefixes -->\n\n## ID Index\n\n<!-- sotb:begin index -->\n"
            "### API Contracts (API-XXX)\n\n| ID | Title | Status | Used By |\n") in ids
    assert ids.endswith("| PIC-101 | Twilio SMS/Voice | Active | API-050 |\n<!-- sotb:end index -->\n")
    assert sync(registry).changes == ()
    assert lint_codes(registry) == []


INIT_IDS = """# Unique ID System

## 1. Prefixes

### 1.2 Prefix Registry

## 2. ID Index

### 2.2 Index Tables
"""


def test_empty_sections_of_a_new_registry_receive_their_regions(registry: Path) -> None:
    sot = registry / "SoT"
    (sot / "SoT.README.md").write_text("# Registry\n\n## SoT Files\n\n## Notes\n\nKeep it short.\n",
                                       encoding="utf-8")
    (sot / "SoT.UNIQUE_ID_SYSTEM.md").write_text(INIT_IDS, encoding="utf-8")
    sync(registry)
    readme = (sot / "SoT.README.md").read_text(encoding="utf-8")
    assert readme.startswith("# Registry\n\n## SoT Files\n\n<!-- sotb:begin files -->\n| File |")
    assert readme.endswith("<!-- sotb:end files -->\n\n## Notes\n\nKeep it short.\n")
    ids = (sot / "SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert "### 1.2 Prefix Registry\n\n<!-- sotb:begin prefixes -->\n| Prefix |" in ids
    assert "<!-- sotb:end prefixes -->\n\n## 2. ID Index\n\n### 2.2 Index Tables\n\n<!-- sotb:begin index -->\n" \
           "#### API Contracts (API-XXX)\n" in ids
    assert ids.count("Index") == 2
    assert sync(registry).changes == ()
    assert lint_codes(registry) == []


def test_a_new_file_gets_a_navigation_before_its_first_entry(registry: Path) -> None:
    path = registry / "SoT" / "SoT.ENVIRONMENTS.md"
    path.write_text("# Environments\n\n> Where the product runs.\n\n## ENV-101: Staging\n\n**Status**: Active\n\n"
                    "## ENV-001: Production\n\n**Status**: Active\n", encoding="utf-8")
    sync(registry)
    assert path.read_text(encoding="utf-8") == (
        "# Environments\n\n> Where the product runs.\n\n## Navigation by Category\n\n"
        "<!-- sotb:begin navigation -->\n**Core** (ENV-001 to ENV-099):\n- [ENV-001](#env-001-production) - Production\n"
        "\n**Extended** (ENV-101 to ENV-199):\n- [ENV-101](#env-101-staging) - Staging\n"
        "<!-- sotb:end navigation -->\n\n## ENV-101: Staging\n\n**Status**: Active\n\n"
        "## ENV-001: Production\n\n**Status**: Active\n")
    assert sync(registry).changes == ()


def test_ranges_already_written_are_kept_when_the_type_has_none(tmp_path: Path) -> None:
    root = tmp_path / "p"
    (root / "SoT").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "SoT" / "SoT.QUEUES.md").write_text(
        "# Queues\n\n## Navigation by Category\n\n**Inbound** (QQ-001 to QQ-049):\n\n"
        "**Outbound** (QQ-050 to QQ-099):\n- [QQ-001](#qq-001-orders) - Orders\n\n"
        "## QQ-001: Orders\n\n## QQ-060: Refunds\n\n## QQ-500: Audit\n", encoding="utf-8")
    sync(root)
    text = (root / "SoT" / "SoT.QUEUES.md").read_text(encoding="utf-8")
    assert ("<!-- sotb:begin navigation -->\n**Inbound** (QQ-001 to QQ-049):\n- [QQ-001](#qq-001-orders) - Orders\n"
            "\n**Outbound** (QQ-050 to QQ-099):\n- [QQ-060](#qq-060-refunds) - Refunds\n"
            "\n**Other**:\n- [QQ-500](#qq-500-audit) - Audit\n<!-- sotb:end navigation -->\n") in text
    assert sync(root).changes == ()


def fake_plugin(monkeypatch: pytest.MonkeyPatch, where: str = "") -> None:
    module = types.ModuleType("sotb_test_dashboard")
    module.__spec__ = importlib.machinery.ModuleSpec("sotb_test_dashboard", None)
    module.dashboard_region = lambda project: f"**Entries**: {len(project.entries())}"
    module.dashboard_path = lambda project: project.rel_in_root(where or "SoT.README.md")
    monkeypatch.setitem(sys.modules, "sotb_test_dashboard", module)
    monkeypatch.setitem(sync_module.PLUGIN_MODULES, "dashboard",
                        ("sotb_test_dashboard", "dashboard_region", "dashboard_path"))


def test_a_plug_in_region_is_regenerated(registry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_plugin(monkeypatch)
    readme = registry / "SoT" / "SoT.README.md"
    readme.write_text(readme.read_text(encoding="utf-8")
                      + "\n<!-- sotb:begin dashboard -->\nold\n<!-- sotb:end dashboard -->\n", encoding="utf-8")
    assert [c for c, _ in lint_codes(registry)] == ["SOT414"]
    sync(registry)
    assert readme.read_text(encoding="utf-8").endswith(
        "\n<!-- sotb:begin dashboard -->\n**Entries**: 6\n<!-- sotb:end dashboard -->\n")
    assert sync(registry).changes == ()


def test_a_configured_plug_in_region_is_added_to_its_file(registry: Path, monkeypatch) -> None:
    fake_plugin(monkeypatch, where="SoT.PARTNER_INTEGRATIONS.md")
    config = registry / "sotb.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[dashboard]\nstale_days = 30\n", encoding="utf-8")
    sync(registry)
    text = (registry / "SoT" / "SoT.PARTNER_INTEGRATIONS.md").read_text(encoding="utf-8")
    assert text.endswith("Signing contract with new service provider\n\n<!-- sotb:begin dashboard -->\n**Entries**: 6\n"
                         "<!-- sotb:end dashboard -->\n")
    assert "dashboard" not in (registry / "SoT" / "SoT.README.md").read_text(encoding="utf-8")
    assert sync(registry).changes == ()


def test_the_dashboard_region_is_idempotent(registry: Path) -> None:
    pytest.importorskip("sot_builder.dashboard")
    readme = registry / "SoT" / "SoT.README.md"
    readme.write_text(readme.read_text(encoding="utf-8")
                      + "\n## Dashboard\n\n<!-- sotb:begin dashboard -->\n<!-- sotb:end dashboard -->\n",
                      encoding="utf-8")
    api = registry / "SoT" / "SoT.API_CONTRACTS.md"
    edit(api, "- [API-046](#api-046-post-subscriptionscreate) - POST /subscriptions/create\n", "")
    edit(api, "### Uses Partner\n\n- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe-payment-processing)"
              " - Stripe Payment Processing\n\n### Business Rules", "### Business Rules")
    assert sync(registry).back_references == (("API-045", "PIC-001"),)
    assert sync(registry).changes == ()
    assert lint_codes(registry) == []


def test_project_templates_override_the_built_in_ones(registry: Path) -> None:
    (registry / "templates" / "sync").mkdir(parents=True)
    (registry / "templates" / "sync" / "navigation.md.j2").write_text(
        "{% for g in groups %}{% for e in g.entries %}* {{ e.id }}\n{% endfor %}{% endfor %}", encoding="utf-8")
    sync(registry)
    text = (registry / "SoT" / "SoT.API_CONTRACTS.md").read_text(encoding="utf-8")
    assert "<!-- sotb:begin navigation -->\n* API-045\n* API-046\n* API-050\n<!-- sotb:end navigation -->" in text


def test_check_mode_writes_nothing_not_even_a_lock(registry: Path) -> None:
    before = snapshot(registry)
    result = sync(registry, write=False)
    assert result.changed and not result.written
    assert snapshot(registry) == before
    assert not (registry / "SoT" / ".sotb.lock").exists()
    assert plan_sync(load_project(load_config(registry), use_cache=False)).diff == result.diff


def test_sync_command_without_a_registry_is_an_error_and_writes_nothing(tmp_path: Path, monkeypatch,
                                                                          capsys) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["sync", "--check"]) == 2
    assert main(["sync"]) == 2
    assert "no SoT folder: SoT/ does not exist" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == [".git"]  # no SoT/.sotb.lock, no cache


def one_file_project(tmp_path: Path, types: str, name: str, text: str) -> tuple[Path, Path]:
    """A project whose sotb.toml holds `types` and whose root holds the one SoT file `name`."""
    root = tmp_path / "p"
    (root / "SoT").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "sotb.toml").write_text('root = "SoT"\n' + types, encoding="utf-8")
    path = root / "SoT" / name
    path.write_text(text, encoding="utf-8")
    return root, path


def test_entries_one_level_below_the_navigation_heading_are_not_part_of_it(tmp_path: Path) -> None:
    root, path = one_file_project(tmp_path, "[types.QQ]\n", "SoT.QUEUES.md",
                                  "# Queues\n\n## Navigation by Category\n\n**Inbound** (QQ-001 to QQ-049):\n"
                                  "- [QQ-001](#qq-001) - Orders\n\n### QQ-001: Orders\n\n**Status**: Active\n\n"
                                  "### QQ-002 — Refunds\n\n**Status**: Active\n")
    assert [c for c, _ in lint_codes(root)] == ["SOT203", "SOT410"]
    sync(root)
    assert path.read_text(encoding="utf-8") == (
        "# Queues\n\n## Navigation by Category\n\n<!-- sotb:begin navigation -->\n**Inbound** (QQ-001 to QQ-049):\n"
        "- [QQ-001](#qq-001-orders) - Orders\n- [QQ-002](#qq-002--refunds) - Refunds\n<!-- sotb:end navigation -->\n\n"
        "### QQ-001: Orders\n\n**Status**: Active\n\n### QQ-002 — Refunds\n\n**Status**: Active\n")
    assert lint_codes(root) == []
    assert sync(root).changes == ()


def test_an_entry_about_navigation_is_not_the_file_s_navigation(tmp_path: Path) -> None:
    root, path = one_file_project(tmp_path, "[types.UX]\n", "SoT.SCREENS.md",
                                  "# Screens\n\n## UX-001: Navigation drawer\n\n**Status**: Active\n\n"
                                  "### Navigation\n\nTabs.\n\n## UX-002: Settings\n\n**Status**: Active\n")
    assert [c for c, _ in lint_codes(root)] == ["SOT412"]
    sync(root)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# Screens\n\n## Navigation by Category\n\n<!-- sotb:begin navigation -->\n")
    assert "- [UX-001](#ux-001-navigation-drawer) - Navigation drawer\n- [UX-002](#ux-002-settings) - Settings\n" in text
    assert text.endswith("## UX-001: Navigation drawer\n\n**Status**: Active\n\n### Navigation\n\nTabs.\n\n"
                         "## UX-002: Settings\n\n**Status**: Active\n")
    assert lint_codes(root) == []
    assert sync(root).changes == ()


@pytest.mark.parametrize("text", [
    "# BR-001: Refunds\n\n**Status**: Active\n\n# BR-002: Taxes\n\n**Status**: Active\n",
    "# BR-001 - Refunds\n\n**Status**: Active\n\n---\n### BR-002 — Taxes\n\n**Status**: Active\n",
])
def test_a_file_of_top_level_entries_gets_its_navigation_above_them(tmp_path: Path, text: str) -> None:
    root, path = one_file_project(tmp_path, '[types.BR]\nfile = "SoT.RULES.md"\n', "SoT.RULES.md", text)
    assert [c for c, _ in lint_codes(root)] == ["SOT412"]
    sync(root)
    after = path.read_text(encoding="utf-8")
    assert after.startswith("## Navigation by Category\n\n<!-- sotb:begin navigation -->\n**Core rules** (BR-001 to BR-099):\n")
    assert after.endswith("<!-- sotb:end navigation -->\n\n" + text)
    assert lint_codes(root) == []
    assert sync(root).changes == ()
