"""`sotb new PREFIX`: render, register and verify a new SoT file.

Regenerate the golden file with `SOTB_UPDATE_GOLDEN=1 pytest tests/scaffold`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest

from sot_builder.navigation import find_navigation
from sot_builder.parse import parse_document
from sot_builder.registry import builtin_definitions

from .conftest import TODAY, make_registry

GOLDEN = Path(__file__).parent / "golden"
PIC_FILE = Path("SoT/SoT.PARTNER_INTEGRATIONS.md")


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("SOTB_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_new_pic_renders_the_golden_file(registry, sotb):
    r = sotb("new", "PIC")
    assert r.code in (0, 1), r.err
    assert r.out.splitlines()[0] == f"created {PIC_FILE.as_posix()}"
    _golden("SoT.PARTNER_INTEGRATIONS.md", PIC_FILE.read_text(encoding="utf-8"))


def test_new_file_has_every_part(registry, sotb):
    assert sotb("new", "PIC").code in (0, 1)
    doc = parse_document(PIC_FILE.read_bytes(), PIC_FILE.as_posix())
    assert doc.problems == ()
    fm = doc.frontmatter
    assert fm is not None
    assert set(fm) == {"version", "purpose", "id_prefix", "last_updated", "authority"}
    assert fm["id_prefix"] == "PIC-###"
    assert str(fm["last_updated"]) == TODAY
    nav = find_navigation(doc)
    assert nav is not None
    spec = builtin_definitions()["PIC"]["categories"]
    assert [(c.name, c.first, c.last) for c in nav.categories] == [
        (c["name"], c["first"], c["last"]) for c in spec
    ]
    titles = [h.text for h in doc.headings]
    for wanted in ("Navigation by Category", "Deprecated", "Cross-Reference Index", "Update Protocol",
                   "Bidirectional Reference Checklist"):
        assert wanted in titles
    assert doc.entries == ()
    text = PIC_FILE.read_text(encoding="utf-8")
    # the checklist follows the relation types: PIC used-by API, PIC affects BR
    assert '`SoT.API_CONTRACTS.md` "Uses Partner" section' in text
    assert '`SoT.BUSINESS_RULES.md` "Affected By" section' in text
    for word in ("best practice", "tips", "how to", "guideline", "lessons"):
        assert word not in text.casefold()


def test_new_declares_the_type_in_the_config(registry, sotb):
    before = Path("sotb.toml").read_text(encoding="utf-8")
    assert sotb("new", "PIC").code in (0, 1)
    after = Path("sotb.toml").read_text(encoding="utf-8")
    assert after.startswith(before)  # edited as text: nothing above is touched
    assert tomllib.loads(after)["types"] == {"PIC": {}}
    assert sotb("new", "API").code in (0, 1)
    assert tomllib.loads(Path("sotb.toml").read_text(encoding="utf-8"))["types"] == {"PIC": {}, "API": {}}


def test_new_twice_refuses_and_leaves_the_file_alone(registry, sotb):
    assert sotb("new", "PIC").code in (0, 1)
    PIC_FILE.write_text(PIC_FILE.read_text(encoding="utf-8") + "\nhand-written line\n", encoding="utf-8")
    before = PIC_FILE.read_bytes()
    config = Path("sotb.toml").read_bytes()
    r = sotb("new", "PIC")
    assert r.code == 2
    assert "already exists" in r.err and "--force" in r.err
    assert PIC_FILE.read_bytes() == before
    assert Path("sotb.toml").read_bytes() == config


def test_force_overwrites(registry, sotb):
    assert sotb("new", "PIC").code in (0, 1)
    PIC_FILE.write_text("scribbled over\n", encoding="utf-8")
    assert sotb("new", "PIC", "--force").code in (0, 1)
    assert PIC_FILE.read_text(encoding="utf-8").startswith("---\nversion: 1.0\n")


def test_dry_run_prints_the_diff_and_writes_nothing(registry, sotb):
    config = Path("sotb.toml").read_bytes()
    r = sotb("new", "PIC", "--dry-run")
    assert r.code == 0
    assert "--- /dev/null\n+++ b/SoT/SoT.PARTNER_INTEGRATIONS.md\n" in r.out
    assert "+# Partner Integration Contracts (SoT File)\n" in r.out
    assert "+[types.PIC]\n" in r.out
    assert not PIC_FILE.exists()
    assert Path("sotb.toml").read_bytes() == config
    assert not (Path("SoT") / ".sotb.lock").exists()


def test_unknown_prefix_points_at_type_add(registry, sotb):
    r = sotb("new", "ZZZ")
    assert r.code == 2
    assert "sotb type add" in r.err
    assert sorted(p.name for p in Path("SoT").glob("*.md")) == ["SoT.README.md", "SoT.UNIQUE_ID_SYSTEM.md"]


def test_new_without_configuration_refuses(tmp_path, monkeypatch, sotb):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # stop the search for a config here
    r = sotb("new", "PIC")
    assert r.code == 2
    assert "sotb init --new" in r.err


def test_new_registers_the_file_and_lints_clean(registry, sotb):
    pytest.importorskip("sot_builder.sync")
    r = sotb("new", "PIC")
    assert r.code == 0, r.err
    readme = Path("SoT/SoT.README.md").read_text(encoding="utf-8")
    ids = Path("SoT/SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert "SoT.PARTNER_INTEGRATIONS.md" in readme
    assert "PIC" in ids
    assert sotb("lint").code == 0


def test_new_starts_the_readme_and_id_system_where_the_project_has_none(tmp_path, monkeypatch, sotb):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1736467200")
    monkeypatch.chdir(tmp_path)
    Path("sotb.toml").write_text('root = "SoT"\n', encoding="utf-8")  # as `sotb init` leaves an empty repository
    r = sotb("new", "PIC")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [f"created {PIC_FILE.as_posix()}", "created SoT/SoT.README.md",
                                  "created SoT/SoT.UNIQUE_ID_SYSTEM.md"]
    readme = Path("SoT/SoT.README.md").read_text(encoding="utf-8")
    ids = Path("SoT/SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert "[SoT.PARTNER_INTEGRATIONS.md](SoT.PARTNER_INTEGRATIONS.md) | PIC-###" in readme
    assert "| **PIC** | Partner Integration Contracts | `SoT.PARTNER_INTEGRATIONS.md` |" in ids
    assert sotb("add", "PIC", "--title", "Stripe").code == 0
    assert "| PIC-001 | Stripe |" in Path("SoT/SoT.UNIQUE_ID_SYSTEM.md").read_text(encoding="utf-8")
    assert sotb("lint").code == 0
    r = sotb("new", "API")
    assert r.code == 0, r.err
    assert r.out.splitlines() == ["created SoT/SoT.API_CONTRACTS.md"]  # the registry files are there now


def test_new_starts_only_the_registry_file_that_is_missing_under_its_configured_name(registry, sotb):
    Path("SoT/SoT.UNIQUE_ID_SYSTEM.md").unlink()
    Path("sotb.toml").write_text('root = "SoT"\nid_system = "IDS.md"\n\n[types]\n', encoding="utf-8")
    r = sotb("new", "PIC")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [f"created {PIC_FILE.as_posix()}", "created SoT/IDS.md"]
    assert "| **PIC** |" in Path("SoT/IDS.md").read_text(encoding="utf-8")
    assert not Path("SoT/SoT.UNIQUE_ID_SYSTEM.md").exists()


def test_a_dry_run_shows_the_registry_files_it_would_start_and_writes_nothing(tmp_path, monkeypatch, sotb):
    monkeypatch.chdir(tmp_path)
    Path("sotb.toml").write_text('root = "SoT"\n', encoding="utf-8")
    r = sotb("new", "PIC", "--dry-run")
    assert r.code == 0, r.err
    assert "--- /dev/null\n+++ b/SoT/SoT.README.md\n" in r.out
    assert "--- /dev/null\n+++ b/SoT/SoT.UNIQUE_ID_SYSTEM.md\n" in r.out
    assert not Path("SoT").exists()


def test_inferred_types_are_declared_with_the_first_new_one(tmp_path, monkeypatch, sotb):
    monkeypatch.chdir(tmp_path)
    make_registry(tmp_path, 'root = "SoT"\n')
    Path("SoT/SoT.BUSINESS_RULES.md").write_text(
        "# Business Rules\n\n## BR-001: Refund window\n\n**Status**: Active\n", encoding="utf-8")
    Path("SoT/SoT.RULES_EXTRA.md").write_text(
        "# Extra\n\n## XR-001: Something\n\n**Status**: Active\n", encoding="utf-8")
    assert sotb("new", "PIC").code in (0, 1)
    types = tomllib.loads(Path("sotb.toml").read_text(encoding="utf-8"))["types"]
    assert types == {"BR": {}, "XR": {"file": "SoT.RULES_EXTRA.md"}, "PIC": {}}
    r = sotb("lint", "--select", "SOT102")
    assert r.code == 0, r.out


def test_pyproject_configuration_gets_tool_sotb_types(tmp_path, monkeypatch, sotb):
    monkeypatch.chdir(tmp_path)
    make_registry(tmp_path)
    Path("sotb.toml").unlink()
    Path("pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.sotb]\nroot = "SoT"\n', encoding="utf-8")
    assert sotb("new", "PIC").code in (0, 1)
    data = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    assert data["tool"]["sotb"]["types"] == {"PIC": {}}
    assert data["project"] == {"name": "x"}


def test_project_templates_override_the_built_in_ones(registry, sotb):
    local = Path("templates/sot")
    local.mkdir(parents=True)
    local.joinpath("file.md.j2").write_text("# {{ title | md_inline }} ({{ prefix }})\n", encoding="utf-8")
    assert sotb("new", "PIC").code in (0, 1)
    assert PIC_FILE.read_text(encoding="utf-8").startswith("# Partner Integration Contracts (PIC)\n")
