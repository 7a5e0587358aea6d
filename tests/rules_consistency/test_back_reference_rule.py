"""SOT208: which references need an answer, what counts as one, where it is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from consistency_helpers import CONFIG, check, tree

PIC_LISTS_API = """# Partners

## PIC-001: Stripe

**Status**: Active

### Integration Points

- [API-045](SoT.API_CONTRACTS.md#api-045-charge) - Charge
"""


def api(body: str = "", status: str = "Active") -> str:
    return f"# API\n\n## API-045: Charge\n\n**Status**: {status}\n\n{body}"


def run(tmp_path: Path, pic: str, api_text: str, config: str = CONFIG, extra: dict | None = None):
    files = {"SoT.PARTNER_INTEGRATIONS.md": pic, "SoT.API_CONTRACTS.md": api_text, **(extra or {})}
    return check(tree(tmp_path / "p", files, config), "SOT208")


def test_the_missing_side_is_reported_at_the_entry_that_lacks_it(tmp_path: Path) -> None:
    [d] = run(tmp_path, PIC_LISTS_API, api("Charges a card.\n"))
    assert (d.path, d.line, d.column, d.ids) == ("SoT/SoT.API_CONTRACTS.md", 3, 4, ("API-045", "PIC-001"))
    assert "PIC-001 used-by API-045" in d.message
    assert "'Uses Partner' (uses-partner)" in d.message
    assert d.fix == "run `sotb sync`"


@pytest.mark.parametrize("body", [
    "### Uses Partner\n\n- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe) - Stripe\n",
    "### Partners\n\n- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe) - Stripe\n",
    "### Related\n\n- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe) - Stripe\n",
    "### See Also\n\n- PIC-001\n",
    "### Notes\n\n- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe) — uses-partner: for charging\n",
])
def test_the_inverse_relation_or_a_generic_related_section_answers(tmp_path: Path, body: str) -> None:
    assert run(tmp_path, PIC_LISTS_API, api(body)) == []


@pytest.mark.parametrize("body", [
    "Charges cards through PIC-001.\n",
    "### Notes\n\n- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe) - Stripe\n",
])
def test_a_mention_outside_any_relation_does_not_answer(tmp_path: Path, body: str) -> None:
    assert [d.ids for d in run(tmp_path, PIC_LISTS_API, api(body))] == [("API-045", "PIC-001")]


def test_a_relation_whose_type_says_no_back_reference_needs_none(tmp_path: Path) -> None:
    pic = PIC_LISTS_API.replace("### Integration Points", "### Related")  # related: back_reference false
    assert run(tmp_path, pic, api("Charges a card.\n")) == []


def test_an_annotation_names_the_relation(tmp_path: Path) -> None:
    config = CONFIG + '\n[back_references]\nAPI = ["BR"]\n'
    body = "### Notes\n\n- [BR-101](SoT.BUSINESS_RULES.md#br-101-retry) — implements: retry policy\n"
    br = "# Rules\n\n## BR-101: Retry\n\n**Status**: Active\n"
    [d] = run(tmp_path, "# Partners\n", api(body), config, {"SoT.BUSINESS_RULES.md": br})
    assert d.ids == ("BR-101", "API-045")
    assert "API-045 implements BR-101" in d.message and "(implemented-by)" in d.message


def test_a_reference_field_carries_its_relation(tmp_path: Path) -> None:
    config = 'root = "SoT"\n\n[types.MIG]\nfields = [{name = "Affects Tables", kind = "references", ' \
             'relation = "affects-table"}]\n\n[types.DBT]\nfields = []\n'
    mig = "# Migrations\n\n## MIG-001: Add table\n\n**Affects Tables**: [DBT-015](SoT.ACTUAL_SCHEMA.md#dbt-015-prefs)\n"
    dbt = "# Tables\n\n## DBT-015: prefs\n\n**Status**: Active\n"
    files = {"SoT.MIGRATIONS.md": mig, "SoT.ACTUAL_SCHEMA.md": dbt}
    [d] = check(tree(tmp_path / "p", files, config), "SOT208")
    assert d.ids == ("DBT-015", "MIG-001") and "MIG-001 affects-table DBT-015" in d.message


@pytest.mark.parametrize(("setting", "reported"), [
    ("PIC = true", [("API-045", "PIC-001")]),
    ("PIC = false", []),
    ('PIC = ["BR"]', []),
    ('PIC = ["API"]', [("API-045", "PIC-001")]),
    ("API = false", [("API-045", "PIC-001")]),  # one direction only
])
def test_back_references_setting(tmp_path: Path, setting: str, reported: list) -> None:
    config = CONFIG + f"\n[back_references]\n{setting}\n"
    assert [d.ids for d in run(tmp_path, PIC_LISTS_API, api("Charges a card.\n"), config)] == reported


def test_a_listed_target_prefix_requires_an_answer_whatever_the_relation(tmp_path: Path) -> None:
    pic = PIC_LISTS_API.replace("### Integration Points", "### Related")
    config = CONFIG + '\n[back_references]\nPIC = ["API"]\n'
    [d] = run(tmp_path, pic, api("Charges a card.\n"), config)
    assert "'Related' (related)" in d.message


@pytest.mark.parametrize("deprecated", ["source", "target"])
def test_deprecated_entries_neither_demand_nor_owe(tmp_path: Path, deprecated: str) -> None:
    pic = PIC_LISTS_API.replace("**Status**: Active", "**Status**: Deprecated") if deprecated == "source" \
        else PIC_LISTS_API
    api_text = api("Charges a card.\n", "Deprecated" if deprecated == "target" else "Active")
    assert run(tmp_path, pic, api_text) == []


def test_one_problem_per_pair(tmp_path: Path) -> None:
    pic = PIC_LISTS_API + "\n### Related\n\n- [API-045](SoT.API_CONTRACTS.md#api-045-charge) - again\n"
    assert len(run(tmp_path, pic, api("Charges a card.\n"))) == 1
