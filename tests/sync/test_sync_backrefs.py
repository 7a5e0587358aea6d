"""Inserting missing back-references: where they go, what they look like, what is left alone."""

from __future__ import annotations

from pathlib import Path

from sync_helpers import edit

from sot_builder.config import load_config
from sot_builder.engine import run
from sot_builder.project import load_project
from sot_builder.rules import all_rules
from sot_builder.sync import sync_project

STRIPE = "- [PIC-001](SoT.PARTNER_INTEGRATIONS.md#pic-001-stripe-payment-processing) - Stripe Payment Processing"
CHARGE = "- [API-045](SoT.API_CONTRACTS.md#api-045-post-paymentscharge) - POST /payments/charge"
SUBSCRIBE = "- [API-046](SoT.API_CONTRACTS.md#api-046-post-subscriptionscreate) - POST /subscriptions/create"
RETRY = "- [BR-101](SoT.BUSINESS_RULES.md#br-101-payment-retry-policy) - Payment retry policy"


def sync(root: Path):
    return sync_project(load_config(root), write=True)


def codes(root: Path) -> list[str]:
    return [d.code for d in run(load_project(load_config(root), use_cache=False), all_rules())]


def read(root: Path, name: str) -> str:
    return (root / "SoT" / name).read_text(encoding="utf-8")


def test_inserted_after_the_references_of_the_same_kind(registry: Path) -> None:
    pic = registry / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    edit(pic, SUBSCRIBE + "\n", "")
    assert codes(registry) == ["SOT208"]
    result = sync(registry)
    assert result.back_references == (("PIC-001", "API-046"),)
    assert ("**Our APIs that use this partner**:\n" + CHARGE + "\n" + SUBSCRIBE + "\n\n**Business Rules affected**:\n"
            + RETRY + "\n") in read(registry, "SoT.PARTNER_INTEGRATIONS.md")
    assert codes(registry) == []
    assert sync(registry).changes == ()


def test_a_missing_section_is_created_before_the_version_history(registry: Path) -> None:
    pic = registry / "SoT" / "SoT.PARTNER_INTEGRATIONS.md"
    edit(pic, "### Integration Points\n\n**Our APIs that use this partner**:\n" + CHARGE + "\n" + SUBSCRIBE
         + "\n\n**Business Rules affected**:\n" + RETRY + "\n\n", "")
    assert codes(registry).count("SOT208") == 3
    sync(registry)
    assert ("**Billing Contact**: payments@ourcompany.com\n\n### Integration Points\n\n" + CHARGE + "\n"
            + SUBSCRIBE + "\n" + RETRY + "\n\n### Version History\n") in read(registry, "SoT.PARTNER_INTEGRATIONS.md")
    assert codes(registry) == []
    assert sync(registry).changes == ()


def test_a_missing_section_is_created_at_the_end_of_the_entry(registry: Path) -> None:
    br = registry / "SoT" / "SoT.BUSINESS_RULES.md"
    edit(br, "\n### Affected By\n\n" + STRIPE + "\n", "")
    br.write_text(br.read_text(encoding="utf-8") + "\n---\n\n## BR-102: Refund window\n\n**Status**: Active\n",
                  encoding="utf-8")
    sync(registry)
    text = read(registry, "SoT.BUSINESS_RULES.md")
    section = text[text.index("A failed charge"): text.index("## BR-102")]
    assert section.startswith("A failed charge is retried at most three times.\n\n### ")
    assert section.endswith("\n\n" + STRIPE + "\n\n---\n\n")
    assert codes(registry) == []


def test_a_reference_inside_one_file_links_to_the_anchor(registry: Path) -> None:
    (registry / "sotb.toml").write_text(
        (registry / "sotb.toml").read_text(encoding="utf-8") + '\n[back_references]\nAPI = ["API"]\n',
        encoding="utf-8")
    api = registry / "SoT" / "SoT.API_CONTRACTS.md"
    edit(api, "Charges a saved payment method for an order.\n",
         "Charges a saved payment method for an order.\n\n### Related\n\n"
         "- [API-050](#api-050-post-notificationssms) - POST /notifications/sms\n")
    assert codes(registry) == ["SOT208"]
    sync(registry)
    assert ("### Uses Partner\n\n- [PIC-101](SoT.PARTNER_INTEGRATIONS.md#pic-101-twilio-smsvoice) - Twilio SMS/Voice\n"
            "\n### Related\n\n- [API-045](#api-045-post-paymentscharge) - POST /payments/charge\n") \
        in read(registry, "SoT.API_CONTRACTS.md")
    assert codes(registry) == []


def test_suppressed_or_ignored_problems_are_not_fixed(registry: Path) -> None:
    api = registry / "SoT" / "SoT.API_CONTRACTS.md"
    edit(api, "### Uses Partner\n\n" + STRIPE + "\n\n### Business Rules", "### Business Rules")
    edit(api, "## API-045: POST", "<!-- sotb-disable-next-line SOT208 -->\n## API-045: POST")
    assert codes(registry) == []
    sync(registry)
    assert read(registry, "SoT.API_CONTRACTS.md").count("[PIC-001]") == 1  # API-046's own, nothing added

    config = registry / "sotb.toml"
    edit(api, "<!-- sotb-disable-next-line SOT208 -->\n", "")
    config.write_text('ignore = ["missing-back-reference"]\n' + config.read_text(encoding="utf-8"),
                      encoding="utf-8")
    assert sync(registry).back_references == ()


def test_a_table_row_entry_is_reported_but_not_edited(registry: Path) -> None:
    config = registry / "sotb.toml"
    config.write_text(config.read_text(encoding="utf-8").replace("[types.ENV]", "[types.ENV]\ntable_rows = true")
                      + '\n[back_references]\nAPI = ["ENV"]\n', encoding="utf-8")
    (registry / "SoT" / "SoT.ENVIRONMENTS.md").write_text(
        "# Environments\n\n| ID | Name | Status |\n|----|------|--------|\n| ENV-001 | Production | Active |\n",
        encoding="utf-8")
    edit(registry / "SoT" / "SoT.API_CONTRACTS.md", "Sends a transactional SMS.\n",
         "Sends a transactional SMS.\n\n### Related\n\n- ENV-001 - Production\n")
    sync(registry)
    assert "SOT208" in codes(registry)
    assert sync(registry).changes == ()
